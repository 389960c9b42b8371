/**
 * Fault injection for diagnose and audit tests: each helper breaks a lab hub (or client) the way
 * the guide's common mistakes do, through the host's own tools, and returns an `undo` that puts
 * it back. Everything stays inside the lab's namespaces; a listener started here is killed by
 * its undo (and by the lab's teardown in any case).
 */
import { spawn } from 'node:child_process';
import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TunnelgateError } from '../core/errors.js';
import type { LabClient } from './client.js';
import { type ExecResult, WG_USERSPACE_ENV, waitFor } from './host.js';
import { HUB_WG_CONFIG, HUB_WG_PORT, type LabHub } from './hub.js';
import { renderHubRuleset } from './nftables.js';

/** Puts a fault back. */
export type Undo = () => Promise<void>;

type Host = LabHub | LabClient;

async function must(host: Host, argv: readonly string[], input?: string): Promise<ExecResult> {
  const result = await host.exec(argv, { env: WG_USERSPACE_ENV, ...(input === undefined ? {} : { input }) });
  if (result.code !== 0) {
    throw new TunnelgateError(
      'LAB_UNAVAILABLE',
      `lab fault: \`${argv.join(' ')}\` on ${host.name} exited ${result.code}`,
      {
        stderrTail: result.stderr,
      },
    );
  }
  return result;
}

/**
 * Makes `wg set` on the hub take `seconds` longer: a wrapper script bind-mounted over /usr/bin/wg
 * inside the hub's mount namespace only (the real binary is copied into the host's directory).
 * Its undo unmounts it and may be called more than once.
 */
export async function slowWgSet(hub: LabHub, seconds: number): Promise<Undo> {
  const real = join(hub.host.spec.dir, 'wg.real');
  const slow = join(hub.host.spec.dir, `wg-slow-${seconds}`);
  await copyFile('/usr/bin/wg', real);
  await writeFile(slow, `#!/bin/sh\n[ "$1" = set ] && sleep ${seconds}\nexec ${real} "$@"\n`, {
    mode: 0o755,
  });
  await must(hub, ['mount', '--bind', slow, '/usr/bin/wg']);
  let mounted = true;
  return async () => {
    if (!mounted) return;
    mounted = false;
    // Lazily: a `wg set` still sleeping keeps the wrapper busy; new calls get the real wg at once.
    await must(hub, ['umount', '-l', '/usr/bin/wg']);
  };
}

/**
 * Remounts the hub's /etc/wireguard read-only (it is a bind mount in the hub's own mount
 * namespace), so every write of its config file fails the way a full or read-only disk does.
 * The live interface is untouched. Its undo remounts it read-write and may be called more than once.
 */
export async function readOnlyWgConfigDir(hub: LabHub): Promise<Undo> {
  await must(hub, ['mount', '-o', 'remount,bind,ro', '/etc/wireguard']);
  let readOnly = true;
  return async () => {
    if (!readOnly) return;
    readOnly = false;
    await must(hub, ['mount', '-o', 'remount,bind,rw', '/etc/wireguard']);
  };
}

/** Reloads the lab's standard hub ruleset (flushing any fault or extra table). */
export async function restoreFirewall(hub: LabHub, operatorAddress: string): Promise<void> {
  await must(hub, ['nft', '-f', '-'], renderHubRuleset({ operatorAddress }));
}

/** The handle of the first rule in `inet filter <chain>` whose text contains `needle`. */
export async function ruleHandle(hub: LabHub, chain: string, needle: string): Promise<number> {
  const text = (await must(hub, ['nft', '-a', 'list', 'chain', 'inet', 'filter', chain])).stdout;
  const line = text.split('\n').find((l) => l.includes(needle) && l.includes('# handle'));
  const handle = Number(/# handle (\d+)/.exec(line ?? '')?.[1]);
  if (!Number.isInteger(handle))
    throw new TunnelgateError('LAB_UNAVAILABLE', `lab fault: no rule "${needle}" in ${chain}`);
  return handle;
}

/** Removes the input rule accepting WireGuard's UDP port: packets fall through to the counted reject. */
export async function blockWireGuardPort(hub: LabHub, operatorAddress: string): Promise<Undo> {
  const handle = await ruleHandle(hub, 'input', `udp dport ${HUB_WG_PORT} accept`);
  await must(hub, ['nft', 'delete', 'rule', 'inet', 'filter', 'input', 'handle', String(handle)]);
  return () => restoreFirewall(hub, operatorAddress);
}

/** Drops everything arriving on wg0 (inserted first in the input chain, before the ct rule). */
export async function dropOnWireGuard(hub: LabHub, operatorAddress: string): Promise<Undo> {
  await must(hub, ['nft', 'insert', 'rule', 'inet', 'filter', 'input', 'iifname', 'wg0', 'counter', 'drop']);
  return () => restoreFirewall(hub, operatorAddress);
}

/** Accepts SSH from any source (inserted first in the input chain). */
export async function openSshToAll(hub: LabHub, operatorAddress: string): Promise<Undo> {
  await must(hub, ['nft', 'insert', 'rule', 'inet', 'filter', 'input', 'tcp', 'dport', '22', 'accept']);
  return () => restoreFirewall(hub, operatorAddress);
}

/** `wg-quick down wg0` on the hub; undo brings it up again from its config file. */
export async function stopWireGuard(hub: LabHub): Promise<Undo> {
  await must(hub, ['wg-quick', 'down', 'wg0']);
  return async () => {
    await must(hub, ['wg-quick', 'up', 'wg0']);
  };
}

/** Sets net.ipv4.ip_forward in the hub's namespace; undo restores the previous value. */
export async function setIpForward(hub: LabHub, on: boolean): Promise<Undo> {
  const before = (await must(hub, ['sysctl', '-n', 'net.ipv4.ip_forward'])).stdout.trim();
  await must(hub, ['sysctl', '-w', `net.ipv4.ip_forward=${on ? 1 : 0}`]);
  return async () => {
    await must(hub, ['sysctl', '-w', `net.ipv4.ip_forward=${before}`]);
  };
}

/**
 * What a full-tunnel hub needs besides forwarding: wg0 -> egress allowed in the forward chain and,
 * unless `masquerade` is false, NAT toward the egress interface. Undo reloads the standard ruleset.
 */
export async function routeFullTunnel(
  hub: LabHub,
  operatorAddress: string,
  options: { egress?: string; masquerade?: boolean } = {},
): Promise<Undo> {
  const egress = options.egress ?? 'eth0';
  await must(hub, [
    'nft',
    'add',
    'rule',
    'inet',
    'filter',
    'forward',
    'iifname',
    'wg0',
    'oifname',
    egress,
    'accept',
  ]);
  if (options.masquerade !== false) {
    await must(
      hub,
      ['nft', '-f', '-'],
      `table ip nat {\n  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n    oifname "${egress}" ip saddr ${hub.subnet} masquerade\n  }\n}\n`,
    );
  }
  return () => restoreFirewall(hub, operatorAddress);
}

/** Lowers the lab link's MTU inside a host (`ip link set eth0 mtu N`); undo sets 1500 again. */
export async function lowerLinkMtu(host: Host, mtu: number): Promise<Undo> {
  await must(host, ['ip', 'link', 'set', 'eth0', 'mtu', String(mtu)]);
  return async () => {
    await must(host, ['ip', 'link', 'set', 'eth0', 'mtu', '1500']);
  };
}

/** Live AllowedIPs of a hub peer, as `wg show wg0 allowed-ips` lists them. */
export async function liveAllowedIps(hub: LabHub, publicKey: string): Promise<string[]> {
  const text = (await must(hub, ['wg', 'show', 'wg0', 'allowed-ips'])).stdout;
  const line = text.split('\n').find((l) => l.startsWith(`${publicKey}\t`));
  return (line?.split('\t')[1] ?? '').split(/\s+/).filter((c) => c !== '' && c !== '(none)');
}

/**
 * Gives `thief` the AllowedIPs `cidrs` too (`wg set`), which takes them from whoever held them:
 * one client knocks the other offline. Undo gives every peer named in `restore` its AllowedIPs back.
 */
export async function stealAllowedIps(
  hub: LabHub,
  thief: string,
  cidrs: readonly string[],
  restore: readonly { publicKey: string; allowedIps: readonly string[] }[],
): Promise<Undo> {
  const own = await liveAllowedIps(hub, thief);
  await must(hub, ['wg', 'set', 'wg0', 'peer', thief, 'allowed-ips', [...own, ...cidrs].join(',')]);
  return async () => {
    await must(hub, ['wg', 'set', 'wg0', 'peer', thief, 'allowed-ips', own.join(',')]);
    for (const peer of restore) {
      await must(hub, ['wg', 'set', 'wg0', 'peer', peer.publicKey, 'allowed-ips', peer.allowedIps.join(',')]);
    }
  };
}

/**
 * Starts a TCP listener on `port` inside the hub (this very Node binary, so the lab needs no
 * extra package such as busybox) and waits until ss shows it; undo kills it.
 */
export async function startListener(hub: LabHub, port: number): Promise<Undo> {
  const listen = `require('node:net').createServer().listen(${port}, '0.0.0.0')`;
  const [file = 'nsenter', ...args] = hub.host.argv([process.execPath, '-e', listen]);
  const child = spawn(file, args, { detached: false, stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const up = await waitFor(
    async () => (await hub.exec(['ss', '-H', '-ltn', `sport = :${port}`])).stdout.includes(`:${port}`),
    5_000,
    50,
  );
  const undo = async () => {
    child.kill('SIGKILL');
    await exited;
  };
  if (!up) {
    await undo();
    throw new TunnelgateError('LAB_UNAVAILABLE', `lab fault: no listener on ${port} in ${hub.name}`);
  }
  return undo;
}

/** Rewrites the hub config with `SaveConfig = true`; undo restores the file byte for byte. */
export async function enableSaveConfig(hub: LabHub): Promise<Undo> {
  const before = await hub.readFile(HUB_WG_CONFIG);
  await hub.writeFile(HUB_WG_CONFIG, before.replace(/^SaveConfig = false$/m, 'SaveConfig = true'));
  return () => hub.writeFile(HUB_WG_CONFIG, before);
}

/** chmod of a file inside the hub; undo sets 600 again. */
export async function chmodFile(hub: LabHub, path: string, mode: string): Promise<Undo> {
  await must(hub, ['chmod', mode, path]);
  return async () => {
    await must(hub, ['chmod', '600', path]);
  };
}

/** The hub config text of a client config with another hub public key: packets arrive, no handshake. */
export function withWrongHubKey(configText: string, wrongKey: string): string {
  return configText.replace(/^PublicKey = .*$/m, `PublicKey = ${wrongKey}`);
}

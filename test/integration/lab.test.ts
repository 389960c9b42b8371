/**
 * THE LAB itself: real hubs (sshd, wireguard-go, nftables) and clients in namespaces. Proves what
 * the other integration tests rely on, and that stop() and the stale-lab reclaimer leave nothing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, expect, it } from 'vitest';
import {
  bridgeName,
  hostNames,
  isRunning,
  netnsPids,
  reclaimStaleLabs,
  waitForExit,
} from '../../src/lab/cleanup.js';
import { renderLabClientConfig } from '../../src/lab/client.js';
import { generateWgKeyPair, run } from '../../src/lab/host.js';
import { startLab } from '../../src/lab/lab.js';
import { useLab } from '../support/lab.js';

const lab = useLab({ hubs: 1, clients: 1 });

/** OpenSSH client argv with nothing from ~/.ssh or /etc/ssh: only the given key and known_hosts. */
function sshArgv(knownHosts: string, key: string, address: string, command: string[]): string[] {
  return [
    'ssh',
    '-F',
    '/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'ConnectTimeout=5',
    '-i',
    key,
    `root@${address}`,
    ...command,
  ];
}

/** Peer lines of `wg show wg0 dump`, by public key: [psk, endpoint, allowed-ips, handshake, …]. */
function peers(dump: string): Map<string, string[]> {
  const lines = dump.trim().split('\n').slice(1);
  return new Map(lines.map((line) => line.split('\t')).map(([key = '', ...rest]) => [key, rest]));
}

/** Every trace of lab `id` (1 hub, 1 client) that teardown must remove. */
function traces(id: string): { netns: string[]; links: string[]; pids: number[] } {
  const hosts = [hostNames(id, 'hub', 1), hostNames(id, 'client', 1)];
  const netns = hosts.map((host) => host.netns);
  return {
    netns,
    links: [bridgeName(id), ...hosts.map((host) => host.veth)],
    pids: netns.flatMap(netnsPids),
  };
}

async function assertGone(found: { netns: string[]; links: string[]; pids: number[] }, dir: string) {
  const netnsList = (await run(['ip', 'netns', 'list'])).stdout;
  const linkList = (await run(['ip', '-o', 'link'])).stdout;
  for (const ns of found.netns) expect(netnsList).not.toContain(ns);
  for (const link of found.links) expect(linkList).not.toContain(link);
  await waitForExit(found.pids);
  expect(found.pids.filter(isRunning)).toEqual([]);
  expect((await run(['pgrep', '-f', dir])).stdout).toBe('');
  expect(existsSync(dir)).toBe(false);
}

/** Lab-holding child processes; any a failed test left running get SIGTERM (they clean up). */
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
});

/** Starts a 1-hub-1-client lab in a separate Node process, which then idles until killed. */
async function startLabInChild() {
  const script = [
    'const { startLab } = await import(process.argv[1]);',
    'const lab = await startLab({ hubs: 1, clients: 1 });',
    'console.log(JSON.stringify({ id: lab.id, dir: lab.dir }));',
    'setInterval(() => {}, 1000);',
  ].join('\n');
  const labModule = new URL('../../src/lab/lab.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, labModule], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`lab child exited with ${code}`)));
  });
  const started = JSON.parse(line) as { id: string; dir: string };
  const found = traces(started.id);
  expect(found.pids.length).toBeGreaterThanOrEqual(4);
  return { child, started, found };
}

lab.describe('the lab', () => {
  it('routes nothing beyond its own /27', async () => {
    const { id, hubs, clients } = lab.get();
    const rootRoutes = (await run(['ip', 'route', 'show', 'dev', bridgeName(id)])).stdout.trim().split('\n');
    expect(rootRoutes).toEqual([expect.stringMatching(/^(198\.51\.100|203\.0\.113)\.\d+\/27 /)]);
    expect((await run(['ip', '-6', 'route', 'show', 'dev', bridgeName(id)])).stdout).toBe('');
    for (const host of [...hubs, ...clients]) {
      expect((await host.exec(['ip', 'route', 'show', 'default'])).stdout).toBe('');
      expect((await host.exec(['ip', '-6', 'route', 'show', 'default'])).stdout).toBe('');
    }
  });

  it('gives each hub a documentation-range address, a tunnel subnet and a config entry', () => {
    const { hubs, clients, operatorAddress } = lab.get();
    const hub = hubs[0];
    expect(operatorAddress).toMatch(/^(198\.51\.100|203\.0\.113)\.\d+$/);
    expect(hub?.labAddress).toMatch(/^(198\.51\.100|203\.0\.113)\.\d+$/);
    expect(clients[0]?.labAddress).toMatch(/^(198\.51\.100|203\.0\.113)\.\d+$/);
    expect(hub?.configEntry()).toMatchObject({
      name: 'hub1',
      host: hub?.labAddress,
      port: 22,
      user: 'root',
      interface: 'wg0',
      configPath: '/etc/wireguard/wg0.conf',
      endpoint: `${hub?.labAddress}:51820`,
      subnet: '10.66.1.0/24',
      dns: ['10.66.1.1'],
      routes: ['10.66.1.0/24'],
    });
  });

  it("keeps each hub's files in its own mount namespace", async () => {
    const hub = lab.get().hubs[0];
    if (hub === undefined) throw new Error('no hub');
    expect(await hub.readFile('/etc/wireguard/wg0.conf')).toContain('ListenPort = 51820');
    expect((await hub.exec(['stat', '-c', '%a', '/etc/wireguard/wg0.conf'])).stdout.trim()).toBe('600');
    await hub.writeFile('/etc/wireguard/probe.txt', 'inside\n', 0o640);
    expect((await hub.exec(['stat', '-c', '%a', '/etc/wireguard/probe.txt'])).stdout.trim()).toBe('640');
    expect(existsSync('/etc/wireguard/probe.txt')).toBe(false);
    expect((await hub.exec(['ls', '/run/wireguard'])).stdout.trim()).toBe('wg0.sock');
  });

  it('answers SSH as root with the pinned host key', async () => {
    const { hubs, knownHostsPath, operatorKeyPath } = lab.get();
    const hub = hubs[0];
    if (hub === undefined) throw new Error('no hub');
    const result = await run(
      sshArgv(knownHostsPath, operatorKeyPath, hub.labAddress, ['wg', 'show', 'wg0', 'dump']),
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.split('\t')[1]).toBe(hub.wgPublicKey);
    // Sessions may run wg-quick, which needs the userspace fallback here.
    const env = await run(
      sshArgv(knownHostsPath, operatorKeyPath, hub.labAddress, [
        'printenv',
        'WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD',
      ]),
    );
    expect(env.stdout.trim()).toBe('1');
  });

  it('refuses to talk to a hub whose host key is not the pinned one', async () => {
    const { hubs, dir, operatorKeyPath } = lab.get();
    const hub = hubs[0];
    if (hub === undefined) throw new Error('no hub');
    // A valid ed25519 key that is not the hub's: the operator's own public key.
    const wrong = join(dir, 'wrong_known_hosts');
    const otherKey = readFileSync(`${operatorKeyPath}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(wrong, `${hub.labAddress} ${otherKey}\n`);
    const result = await run(sshArgv(wrong, operatorKeyPath, hub.labAddress, ['true']));
    expect(result.code).toBe(255);
    expect(result.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED/);
    expect(result.stderr).toMatch(/host key verification failed/i);
  });

  it('loads the hub firewall with input policy drop; SSH only from the operator', async () => {
    const { hubs, clients, knownHostsPath, operatorKeyPath } = lab.get();
    const [hub, client] = [hubs[0], clients[0]];
    if (hub === undefined || client === undefined) throw new Error('no hub or client');
    const input = await hub.exec(['nft', 'list', 'chain', 'inet', 'filter', 'input']);
    expect(input.stdout).toContain('policy drop;');
    expect(input.stdout).toContain(`ip saddr ${lab.get().operatorAddress} tcp dport 22 accept`);
    const fromClient = await client.exec(sshArgv(knownHostsPath, operatorKeyPath, hub.labAddress, ['true']));
    expect(fromClient.code).toBe(255);
    expect(fromClient.stderr).toMatch(/connection refused/i);
  });

  it('lets a hand-written client handshake with the hub and ping it', async () => {
    const { hubs, clients } = lab.get();
    const [hub, client] = [hubs[0], clients[0]];
    if (hub === undefined || client === undefined) throw new Error('no hub or client');
    const keys = await generateWgKeyPair();
    const address = hub.hubAddress.replace(/\.1$/, '.2');
    const added = await hub.exec([
      'wg',
      'set',
      'wg0',
      'peer',
      keys.publicKey,
      'allowed-ips',
      `${address}/32`,
    ]);
    expect(added.code).toBe(0);
    // A DNS line, as real client configs have: up() must drop it (no resolvconf here).
    const config = renderLabClientConfig({ privateKey: keys.privateKey, address, hub }).replace(
      '[Peer]',
      `DNS = ${hub.hubAddress}\n\n[Peer]`,
    );
    await client.up(config);
    expect(await client.ping(hub.hubAddress, { count: 1, timeoutSec: 10 })).toBe(true);
    const handshake = Number(
      peers((await hub.exec(['wg', 'show', 'wg0', 'dump'])).stdout).get(keys.publicKey)?.[3],
    );
    expect(handshake).toBeGreaterThan(0);
    expect(peers(await client.wgDump()).get(hub.wgPublicKey)?.[1]).toBe(hub.endpoint);
    await client.down();
    expect((await client.exec(['ip', 'link', 'show', 'wg0'])).code).not.toBe(0);
  });

  it('runs a second lab alongside on another slot', async () => {
    const other = await startLab({ hubs: 1, clients: 0 });
    try {
      expect(other.slot).not.toBe(lab.get().slot);
      expect(other.operatorAddress).not.toBe(lab.get().operatorAddress);
    } finally {
      await other.stop();
    }
  });

  it('stop() removes every namespace, link, process and file, and can be called again', async () => {
    const target = lab.get();
    const found = traces(target.id);
    expect(found.netns).toEqual([...target.hubs, ...target.clients].map((host) => host.netns));
    expect(found.pids.length).toBeGreaterThanOrEqual(4);
    await target.stop();
    await assertGone(found, target.dir);
    await target.stop();
  });

  it('reclaims a lab whose process was SIGKILLed', async () => {
    const { child, started, found } = await startLabInChild();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    // Another test run's global setup may reclaim it first; either way it must be gone after this.
    reclaimStaleLabs();
    await assertGone(found, started.dir);
  });

  it('tears a lab down when its process gets SIGTERM', async () => {
    const { child, started, found } = await startLabInChild();
    const exited = new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    child.kill('SIGTERM');
    expect(await exited).toBe('SIGTERM');
    await assertGone(found, started.dir);
  });

  it('refuses more hosts than a slot has addresses for', async () => {
    await expect(startLab({ hubs: 15, clients: 0 })).rejects.toMatchObject({ code: 'INPUT_INVALID' });
  });
});

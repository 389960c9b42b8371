/**
 * A lab hub: a lab host set up the way the hub guide sets up a real one. Its own sshd (root by
 * the operator's key only, pinned ed25519 host key), `wg0` brought up by wg-quick from
 * /etc/wireguard/wg0.conf (userspace wireguard-go here), and the guide's nftables ruleset.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { TunnelgateError, tail } from '../core/errors.js';
import {
  type ExecOptions,
  type ExecResult,
  generateWgKeyPair,
  type LabHost,
  WG_USERSPACE_ENV,
  waitFor,
} from './host.js';
import { renderHubRuleset } from './nftables.js';
import { generateSshKey, renderSshdConfig, sshdArgv, sshdTestArgv } from './sshd.js';

/** WireGuard's listen port on every lab hub. */
export const HUB_WG_PORT = 51820;
/** sshd's port on every lab hub. */
const SSH_PORT = 22;
/** Where the hub's durable WireGuard config lives (inside the hub). */
export const HUB_WG_CONFIG = '/etc/wireguard/wg0.conf';

/** A plain object shaped like one `hubs:` entry of tunnelgate.yaml, pointing at a lab hub. */
export interface LabHubEntry {
  name: string;
  host: string;
  port: number;
  user: 'root';
  privateKeyPath: string;
  knownHosts: string;
  interface: 'wg0';
  configPath: string;
  endpoint: string;
  subnet: string;
  dns: string[];
  routes: string[];
}

/** What a hub needs from its lab. */
export interface HubSpec {
  /** 1-based; the hub's tunnel subnet is `10.66.<index>.0/24`. */
  index: number;
  operatorAddress: string;
  /** The operator's `ssh-ed25519 AAAA…` line, the only key sshd admits. */
  operatorPublicKey: string;
  operatorKeyPath: string;
  knownHostsPath: string;
}

/** A running lab hub. Created by the lab (see `startLab`). */
export class LabHub {
  readonly sshPort = SSH_PORT;
  readonly subnet: string;
  readonly hubAddress: string;
  readonly endpoint: string;

  constructor(
    readonly host: LabHost,
    private readonly spec: HubSpec,
    /** The sshd host key as one line: `ssh-ed25519 AAAA…`. */
    readonly hostPublicKey: string,
    readonly wgPublicKey: string,
  ) {
    this.subnet = `10.66.${spec.index}.0/24`;
    this.hubAddress = `10.66.${spec.index}.1`;
    this.endpoint = `${host.address}:${HUB_WG_PORT}`;
  }

  /** `hub1`, `hub2`, … */
  get name(): string {
    return this.host.name;
  }

  get labAddress(): string {
    return this.host.address;
  }

  get netns(): string {
    return this.host.netns;
  }

  /** Pid of the namespace holder; `nsenter -t <pid> -m -n` enters the hub. */
  get pid(): number {
    return this.host.pid;
  }

  /** Runs `argv` inside the hub (as root, not over SSH). */
  exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    return this.host.exec(argv, options);
  }

  /** Reads a file inside the hub, e.g. {@link HUB_WG_CONFIG}. */
  readFile(path: string): Promise<string> {
    return this.host.readFile(path);
  }

  /** Writes a file inside the hub with `mode` (default 0600). */
  writeFile(path: string, text: string, mode = 0o600): Promise<void> {
    return this.host.writeFile(path, text, mode);
  }

  /** This hub as a tunnelgate.yaml hub entry (root over SSH with the lab's key and known_hosts). */
  configEntry(): LabHubEntry {
    return {
      name: this.name,
      host: this.labAddress,
      port: this.sshPort,
      user: 'root',
      privateKeyPath: this.spec.operatorKeyPath,
      knownHosts: this.spec.knownHostsPath,
      interface: 'wg0',
      configPath: HUB_WG_CONFIG,
      endpoint: this.endpoint,
      subnet: this.subnet,
      dns: [this.hubAddress],
      routes: [this.subnet],
    };
  }
}

/** Resolves true when something on address:port greets with an SSH banner. */
function sshBanner(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port, timeout: 1_000 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('data', (data) => done(data.toString('latin1').startsWith('SSH-')));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/** Starts sshd inside the hub (its log goes to `<dir>/sshd.log`) and waits for its banner. */
export async function startSshd(host: LabHost, configPath: string): Promise<void> {
  const logPath = join(host.spec.dir, 'sshd.log');
  await host.execChecked(sshdTestArgv(configPath));
  const log = openSync(logPath, 'a', 0o600);
  const [file = 'nsenter', ...args] = host.argv(sshdArgv(configPath));
  const sshd = spawn(file, args, { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  sshd.unref();
  let exited = false;
  sshd.on('error', () => {
    exited = true;
  });
  sshd.on('exit', () => {
    exited = true;
  });
  const up = await waitFor(async () => exited || (await sshBanner(host.address, SSH_PORT)), 10_000, 20);
  if (!up || exited) {
    const reason = await readFile(logPath, 'utf8').catch(() => '');
    throw new TunnelgateError('LAB_UNAVAILABLE', `lab: sshd on ${host.name} did not come up`, {
      stderrTail: tail(reason),
    });
  }
}

/**
 * Turns a created host into a hub: host key, sshd, wg0 and the firewall. Throws LAB_UNAVAILABLE
 * with the failing step's stderr; the lab's teardown removes whatever was started.
 */
export async function startHub(host: LabHost, spec: HubSpec): Promise<LabHub> {
  const dir = host.spec.dir;
  const hostKeyPath = join(dir, 'ssh_host_ed25519_key');
  const [hostPublicKey, wgKeys] = await Promise.all([
    generateSshKey(hostKeyPath, `${host.name}@tunnelgate-lab`),
    generateWgKeyPair(),
  ]);

  const authorizedKeysPath = join(dir, 'authorized_keys');
  const sshdConfigPath = join(dir, 'sshd_config');
  await writeFile(authorizedKeysPath, `${spec.operatorPublicKey}\n`, { mode: 0o600 });
  await writeFile(
    sshdConfigPath,
    renderSshdConfig({
      listenAddress: host.address,
      port: SSH_PORT,
      hostKeyPath,
      authorizedKeysPath,
      pidFilePath: join(dir, 'sshd.pid'),
      // Sessions may run wg-quick themselves, as the bot does on a real hub.
      env: WG_USERSPACE_ENV,
    }),
    { mode: 0o600 },
  );
  await host.writeFile(
    HUB_WG_CONFIG,
    [
      '[Interface]',
      `Address = 10.66.${spec.index}.1/24`,
      `ListenPort = ${HUB_WG_PORT}`,
      `PrivateKey = ${wgKeys.privateKey}`,
      'SaveConfig = false',
      'MTU = 1420',
      '',
    ].join('\n'),
    0o600,
  );
  await host.execChecked(['nft', '-f', '-'], {
    input: renderHubRuleset({ operatorAddress: spec.operatorAddress }),
  });
  await Promise.all([
    startSshd(host, sshdConfigPath),
    host.execChecked(['wg-quick', 'up', 'wg0'], { env: WG_USERSPACE_ENV }),
  ]);
  return new LabHub(host, spec, hostPublicKey, wgKeys.publicKey);
}

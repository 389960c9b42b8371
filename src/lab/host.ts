/**
 * One lab host: a network namespace plus a private mount namespace, held open by a long-lived
 * `sleep` ("holder"). The mount namespace matters as much as the network one: `wg` finds an
 * interface's control socket in /run/wireguard, and sshd needs /run/sshd, so every host gets its
 * own tmpfs on /run and /etc/sysctl.d and its own /etc/wireguard (a bind mount of
 * `<dir>/wireguard`). Everything else runs inside with `nsenter -t <holder> -m -n <argv>`.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TunnelgateError, tail } from '../core/errors.js';
import { teardownHosts, waitForExit } from './cleanup.js';

/**
 * Makes wg-quick fall back to wireguard-go when the kernel has no WireGuard module (as here).
 * Harmless where the module exists: wg-quick then uses the kernel.
 */
export const WG_USERSPACE_ENV = { WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1' } as const;

/** What a finished command left behind. A non-zero `code` is not an error by itself. */
export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Options for {@link run} and {@link LabHost.exec}. */
export interface ExecOptions {
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  /** Added to (not replacing) this process's environment. */
  env?: Record<string, string>;
  /** Killed (SIGKILL) after this long; default 30 s. */
  timeoutMs?: number;
}

/**
 * Runs `argv` (never through a shell) and collects its output. Rejects only when the program
 * cannot be started; a failing command resolves with its exit code (signals map to 128+n).
 */
export function run(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error('run: empty argv'));
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
      timeout: options.timeoutMs ?? 30_000,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ stdout, stderr, code: code ?? 128 + signalNumber(signal) });
    });
    // A command that does not read stdin may close it early; that is not our failure.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 1;
}

/** Like {@link run}, but a non-zero exit throws LAB_UNAVAILABLE carrying stderr's tail. */
export async function runChecked(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const result = await run(argv, options);
  if (result.code !== 0) {
    throw new TunnelgateError('LAB_UNAVAILABLE', `lab: \`${argv.join(' ')}\` exited with ${result.code}`, {
      exitCode: result.code,
      stderrTail: tail(result.stderr || result.stdout),
    });
  }
  return result;
}

/** A fresh WireGuard key pair from `wg genkey` / `wg pubkey`. */
export async function generateWgKeyPair(): Promise<{ privateKey: string; publicKey: string }> {
  const privateKey = (await runChecked(['wg', 'genkey'])).stdout.trim();
  const publicKey = (await runChecked(['wg', 'pubkey'], { input: `${privateKey}\n` })).stdout.trim();
  return { privateKey, publicKey };
}

/** Where and how to create a host; all names are chosen (and recorded) by the lab beforehand. */
export interface HostSpec {
  name: string;
  netns: string;
  /** Root-namespace end of the veth pair; the other end becomes `eth0` inside. */
  veth: string;
  bridge: string;
  /** The host's lab-link address and prefix length, e.g. `198.51.100.2` and 27. */
  address: string;
  prefixLength: number;
  /** A directory of this host's own files (keys, configs, logs), on the root filesystem. */
  dir: string;
}

/** A running lab host. Create with {@link createHost}; the lab tears it down. */
export class LabHost {
  constructor(
    readonly spec: HostSpec,
    /** Pid of the holder process whose namespaces every command enters. */
    readonly pid: number,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  get netns(): string {
    return this.spec.netns;
  }

  get address(): string {
    return this.spec.address;
  }

  /** argv that runs `argv` inside this host's network and mount namespaces. */
  argv(argv: readonly string[]): string[] {
    return ['nsenter', '-t', String(this.pid), '-m', '-n', '--', ...argv];
  }

  /** Runs `argv` inside the host. Resolves with its output and exit code; see {@link run}. */
  exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    return run(this.argv(argv), options);
  }

  /** Runs `argv` inside the host; a non-zero exit throws LAB_UNAVAILABLE. */
  execChecked(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    return runChecked(this.argv(argv), options);
  }

  /**
   * Reads a file as the host sees it (its own /etc/wireguard, /run, …), by running `cat` inside,
   * so symlinks resolve within the host too. Throws LAB_UNAVAILABLE with cat's stderr.
   */
  async readFile(path: string): Promise<string> {
    return (await this.execChecked(['cat', '--', path])).stdout;
  }

  /**
   * Writes a file inside the host with `mode` (default 0600), replacing any existing file. The
   * text is staged in the host's private directory and copied in with `install -m`, so the file
   * never exists with a wider mode. Throws LAB_UNAVAILABLE, e.g. when the directory is missing.
   */
  async writeFile(path: string, text: string, mode = 0o600): Promise<void> {
    const staged = join(this.spec.dir, `.write-${randomBytes(6).toString('hex')}`);
    await writeFile(staged, text, { mode: 0o600 });
    try {
      await this.execChecked(['install', '-m', mode.toString(8), staged, path]);
    } finally {
      await rm(staged, { force: true });
    }
  }

  /**
   * Kills every process in the host, deletes its veth and namespace, and waits for the killed
   * processes to be gone. Idempotent. The lab's `stop()` does this for all hosts at once.
   */
  async destroy(): Promise<void> {
    const { killed, leftovers } = teardownHosts([this.spec]);
    await waitForExit(killed);
    if (leftovers.length > 0) {
      throw new TunnelgateError('INTERNAL', `lab: could not remove ${leftovers.join(', ')}`);
    }
  }
}

/** Polls `check` every `intervalMs` until it returns true; false after `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  intervalMs = 10,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

async function comm(pid: number): Promise<string> {
  try {
    return (await readFile(`/proc/${pid}/comm`, 'utf8')).trim();
  } catch {
    return '';
  }
}

/**
 * Creates the namespace, wires it to the lab bridge, starts the holder and mounts the host's
 * private /run and /etc/wireguard. Throws LAB_UNAVAILABLE; whatever was created is named in the
 * lab's record, so the caller's teardown removes it.
 */
export async function createHost(spec: HostSpec): Promise<LabHost> {
  await runChecked(['ip', 'netns', 'add', spec.netns]);
  await runChecked([
    'ip',
    'link',
    'add',
    spec.veth,
    'type',
    'veth',
    'peer',
    'name',
    'eth0',
    'netns',
    spec.netns,
  ]);
  // The root namespace gets no route but the bridge's /27: no IPv6 link-local on the bridge port.
  await writeFile(`/proc/sys/net/ipv6/conf/${spec.veth}/disable_ipv6`, '1');
  await runChecked(['ip', 'link', 'set', spec.veth, 'master', spec.bridge, 'up']);
  await runChecked(['ip', '-n', spec.netns, '-batch', '-'], {
    input: [
      `addr add ${spec.address}/${spec.prefixLength} dev eth0`,
      'link set eth0 up',
      'link set lo up',
      '',
    ].join('\n'),
  });

  const holder = spawn(
    'ip',
    ['netns', 'exec', spec.netns, 'unshare', '--mount', '--propagation', 'private', 'sleep', 'infinity'],
    { detached: true, stdio: 'ignore' },
  );
  holder.unref();
  let failure = '';
  holder.on('error', (err) => {
    failure = err.message;
  });
  holder.on('exit', (code, signal) => {
    failure ||= `exited with ${code ?? signal}`;
  });
  const pid = holder.pid;
  // `ip netns exec` execs unshare, which execs sleep: only then is the final mount namespace in place.
  const ready =
    pid !== undefined &&
    (await waitFor(async () => failure !== '' || (await comm(pid)) === 'sleep', 5_000, 2));
  if (!ready || pid === undefined || failure !== '') {
    throw new TunnelgateError('LAB_UNAVAILABLE', `lab: the namespace holder of ${spec.name} did not start`, {
      stderrTail: failure || 'timed out',
    });
  }

  const wgDir = join(spec.dir, 'wireguard');
  await mkdir(wgDir, { recursive: true, mode: 0o700 });
  const inHolder = (argv: string[]) => runChecked(['nsenter', '-t', String(pid), '-m', '--', ...argv]);
  await inHolder(['mount', '-t', 'tmpfs', '-o', 'mode=0755,size=16m', 'tunnelgate-lab-run', '/run']);
  await inHolder(['mkdir', '-m', '0755', '/run/wireguard', '/run/sshd']);
  await inHolder(['mount', '--bind', wgDir, '/etc/wireguard']);
  // Its own (empty) sysctl drop-ins: a bootstrap or a fix persists forwarding there, never on this machine.
  await inHolder([
    'mount',
    '-t',
    'tmpfs',
    '-o',
    'mode=0755,size=1m',
    'tunnelgate-lab-sysctl',
    '/etc/sysctl.d',
  ]);
  // An empty root home, as on a fresh server: Debian's bash sources ~/.bashrc for SSH sessions,
  // and this machine's may run start-up code (pyenv) that is slow or blocks on a lock.
  await inHolder(['mount', '-t', 'tmpfs', '-o', 'mode=0700,size=1m', 'tunnelgate-lab-root', '/root']);
  return new LabHost(spec, pid);
}

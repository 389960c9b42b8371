/**
 * The person's way of touching a hub, for the baselines: one fresh OpenSSH client connection per
 * command (no ControlMaster), with the lab's operator key and known_hosts, BatchMode and strict
 * host key checking. The remote command is constant program text with quoted positional args.
 */
import { spawn } from 'node:child_process';
import type { HubConfig } from '../../src/config/schema.js';
import { commandLine } from '../../src/hub/ssh/quote.js';

export interface SshRun {
  ms: number;
  stdout: string;
}

/**
 * Runs `argv` on the hub over a fresh `ssh` connection, with `input` on its stdin; resolves with the
 * wall time. Throws when ssh fails, or when the command exits non-zero unless `allowFail`.
 */
export function freshSsh(
  hub: HubConfig,
  argv: readonly string[],
  options: { input?: string; allowFail?: boolean } = {},
): Promise<SshRun> {
  const args = [
    '-F',
    '/dev/null',
    '-i',
    hub.privateKeyPath,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${hub.knownHosts ?? '/dev/null'}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'ControlMaster=no',
    '-o',
    'ControlPath=none',
    '-p',
    String(hub.port),
    `${hub.user}@${hub.host}`,
    commandLine(argv),
  ];
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      const ms = performance.now() - started;
      // 255 is ssh's own failure (connection, auth, host key): never allowed.
      if (code === 255 || (code !== 0 && !options.allowFail)) {
        reject(new Error(`ssh ${hub.name} exited ${code}: ${err.slice(-500)}`));
      } else {
        resolve({ ms, stdout: Buffer.concat(out).toString() });
      }
    });
    child.stdin.end(options.input ?? '');
  });
}

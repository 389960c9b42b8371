/**
 * Vitest global setup, run once per `vitest run` before any test file: reclaims labs left behind
 * by dead processes, starts a throwaway redis-server for the whole run (`inject('redisUrl')`),
 * and finds out whether THE LAB can run here (`labAvailable`, `labSkipReason`). Under CI=true
 * an unavailable lab fails the run instead of skipping the lab tests.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { constants, readFileSync } from 'node:fs';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { TunnelgateError, tail } from '../../src/core/errors.js';
import { reclaimStaleLabs } from '../../src/lab/cleanup.js';
import { run, waitFor } from '../../src/lab/host.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `redis://127.0.0.1:<port>` of the run's throwaway redis-server. */
    redisUrl: string;
    /** Whether `startLab` can work on this machine. */
    labAvailable: boolean;
    /** Why not, when `labAvailable` is false (empty otherwise). */
    labSkipReason: string;
  }
}

/**
 * The programs scripts/deps.txt lists with a Debian package (the one list ensure-deps.sh installs
 * and test/unit/deploy/deps.test.ts checks the tree against); sshd and nft live in sbin.
 */
function labPrograms(): string[] {
  const list = readFileSync(join(import.meta.dirname, '..', '..', 'scripts', 'deps.txt'), 'utf8');
  return list
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => line.trim().split(/\s+/))
    .filter(([, pkg]) => pkg !== undefined && pkg !== '-')
    .map(([program]) => program ?? '');
}

async function onPath(program: string): Promise<boolean> {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    try {
      await access(join(dir, program), constants.X_OK);
      return true;
    } catch {
      // Not in this directory.
    }
  }
  return false;
}

/** Why a lab cannot start here, or undefined when it can. */
async function labProblem(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'the lab needs root (network namespaces, mounts, nftables)';
  const missing = [];
  for (const program of labPrograms()) if (!(await onPath(program))) missing.push(program);
  if (missing.length > 0) return `missing programs: ${missing.join(', ')} (run scripts/ensure-deps.sh)`;
  try {
    await access('/dev/net/tun', constants.R_OK | constants.W_OK);
  } catch {
    return '/dev/net/tun is not available (wireguard-go needs it)';
  }
  const probe = `tgprobe${process.pid}`;
  const added = await run(['ip', 'netns', 'add', probe]);
  if (added.code !== 0) return `cannot create a network namespace: ${added.stderr.trim()}`;
  await run(['ip', 'netns', 'del', probe]);
  return undefined;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string')
    throw new TunnelgateError('INTERNAL', 'no free TCP port');
  return address.port;
}

/** True when redis on `port` answers PING. */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
    socket.once('error', () => done(false));
  });
}

/** A redis-server without persistence in a throwaway directory. */
async function startRedis(): Promise<{ url: string; stop: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'tunnelgate-test-redis-'));
  const port = await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
  ];
  const child: ChildProcess = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (err) => {
    output += err.message;
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  const up = await waitFor(async () => child.exitCode !== null || (await pong(port)), 10_000, 20);
  if (!up || child.exitCode !== null) {
    await stop();
    throw new TunnelgateError('INTERNAL', `test redis-server did not start on port ${port}`, {
      stderrTail: tail(output),
    });
  }
  return { url: `redis://127.0.0.1:${port}`, stop };
}

/** Only root can have made (and can remove) lab resources. */
function reclaim(): void {
  if (process.getuid?.() !== 0) return;
  const reclaimed = reclaimStaleLabs();
  if (reclaimed.length > 0) console.warn(`lab: reclaimed stale labs ${reclaimed.join(', ')}`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  reclaim();
  const problem = await labProblem();
  if (problem !== undefined && process.env.CI === 'true') {
    throw new TunnelgateError(
      'LAB_UNAVAILABLE',
      `the lab cannot run here, and CI=true requires it: ${problem}`,
    );
  }
  if (problem !== undefined) console.warn(`lab: lab tests will be skipped: ${problem}`);
  const redis = await startRedis();
  project.provide('redisUrl', redis.url);
  project.provide('labAvailable', problem === undefined);
  project.provide('labSkipReason', problem ?? '');
  return async () => {
    await redis.stop();
    reclaim();
  };
}

/**
 * Real `tunnelgate worker` processes for the bench (the CLI entry point, as an operator runs it)
 * and their memory as the kernel reports it. Every process started here is killed when the bench
 * process exits, however it exits.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TunnelgateConfig } from '../../src/config/schema.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'tunnelgate.js');
const START_TIMEOUT_MS = 30_000;

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** Writes `config` where a worker process can load it (JSON is valid YAML); returns the path. */
export function writeConfigFile(dir: string, config: TunnelgateConfig): string {
  const path = join(dir, 'tunnelgate.yaml');
  writeFileSync(path, JSON.stringify(config, null, 2), { mode: 0o600 });
  return path;
}

/** Resident memory of a process, from /proc/<pid>/status, in KiB. */
export interface Memory {
  /** VmRSS: resident now. */
  rssKib: number;
  /** VmHWM: the highest resident size so far. */
  peakKib: number;
}

/** Reads a live process's memory. Throws when the process is gone. */
export function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssKib: field('VmRSS'), peakKib: field('VmHWM') };
}

export interface WorkerProcess {
  readonly pid: number;
  memory(): Memory;
  /** Stops it with `signal` (default SIGTERM, the graceful way) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `tunnelgate worker` with `configPath`; resolves once it logged that it is running. */
export async function startWorkerProcess(configPath: string): Promise<WorkerProcess> {
  installExitHook();
  const child = spawn(process.execPath, [BIN, 'worker'], {
    env: { ...process.env, TUNNELGATE_CONFIG: configPath, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  running.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      running.delete(child);
      resolve();
    }),
  );
  let log = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`worker did not start within ${START_TIMEOUT_MS} ms:\n${log.slice(-2000)}`)),
        START_TIMEOUT_MS,
      );
      child.stderr?.on('data', (chunk: Buffer) => {
        // Keep only the tail: a worker logs on every job.
        log = (log + chunk.toString()).slice(-20_000);
        if (log.includes('tunnelgate running')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`worker exited with ${code} before it was running:\n${log.slice(-2000)}`));
      });
    });
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw err;
  }
  const pid = child.pid ?? -1;
  return {
    pid,
    memory: () => memoryOf(pid),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Spawns `tunnelgate worker` as a real child process (the CLI entry point, via tsx) with a config
 * file, and waits until it says it is running.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TunnelgateConfig } from '../../src/config/schema.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'tunnelgate.js');

/** Writes `config` as a file worker processes can load (JSON is valid YAML). */
export function writeConfigFile(dir: string, config: TunnelgateConfig): string {
  const path = join(dir, 'tunnelgate.yaml');
  writeFileSync(path, JSON.stringify(config, null, 2), { mode: 0o600 });
  return path;
}

export interface WorkerProcess {
  child: ChildProcess;
  stderr(): string;
  /** Stops it with `signal` and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `tunnelgate worker`; resolves once it logged that it is running (rejects after 30 s). */
export async function startWorkerProcess(configPath: string): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [BIN, 'worker'], {
    env: { ...process.env, TUNNELGATE_CONFIG: configPath, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start within 30 s:\n${err}`)), 30_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      if (err.includes('tunnelgate running')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code} before it was running:\n${err}`));
    });
  });
  return {
    child,
    stderr: () => err,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

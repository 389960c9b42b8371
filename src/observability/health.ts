/**
 * The health verdict behind `/healthz`: healthy while Redis answers PING, every file the process
 * must read (a worker's SSH keys and known_hosts) is readable, and the process is not shutting
 * down. Orchestrators restart or stop routing to a process that is not.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import { within } from './within.js';

/** The `/healthz` body. */
export interface HealthReport {
  ok: boolean;
  redis: 'up' | 'down';
  stopping: boolean;
  /** Required files this process cannot read, as `path: reason` (left out when there are none). */
  unreadable?: string[];
}

/** What {@link checkHealth} checks besides Redis. */
export interface HealthOptions {
  /** Files the process must be able to read, e.g. each hub's `privateKeyPath`. */
  files?: readonly string[];
  /** How long PING may take before Redis counts as down (default 1 s). */
  timeoutMs?: number;
}

/** Each of `paths` this process cannot read, as `path: reason` (e.g. `EACCES`). */
export async function unreadableFiles(paths: readonly string[]): Promise<string[]> {
  const problems = await Promise.all(
    paths.map((path) =>
      access(path, constants.R_OK).then(
        () => undefined,
        (err: NodeJS.ErrnoException) => `${path}: ${err.code ?? err.message} (cannot read it)`,
      ),
    ),
  );
  return problems.filter((problem) => problem !== undefined);
}

/**
 * Checks Redis without queueing behind a lost connection: a client that is not `ready` is down
 * at once (its commands would wait in ioredis' offline queue), otherwise PING must answer PONG
 * within the timeout. Then checks that every required file is readable.
 */
export async function checkHealth(
  redis: Redis,
  stopping: boolean,
  options: HealthOptions = {},
): Promise<HealthReport> {
  let pong = false;
  if (redis.status === 'ready') {
    const ping = redis.ping().then((reply) => {
      pong = reply === 'PONG';
    });
    await within(ping, options.timeoutMs ?? 1_000);
  }
  const unreadable = await unreadableFiles(options.files ?? []);
  return {
    ok: pong && !stopping && unreadable.length === 0,
    redis: pong ? 'up' : 'down',
    stopping,
    ...(unreadable.length === 0 ? {} : { unreadable }),
  };
}

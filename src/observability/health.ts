/**
 * The health verdict behind `/healthz`: healthy while Redis answers PING and the process is not
 * shutting down. Orchestrators restart or stop routing to a process that is not.
 */
import type { Redis } from 'ioredis';
import { within } from './within.js';

/** The `/healthz` body. */
export interface HealthReport {
  ok: boolean;
  redis: 'up' | 'down';
  stopping: boolean;
}

/** How long PING may take before Redis counts as down (default 1 s). */
const PING_TIMEOUT_MS = 1_000;

/**
 * Checks Redis without queueing behind a lost connection: a client that is not `ready` is down
 * at once (its commands would wait in ioredis' offline queue), otherwise PING must answer PONG
 * within `timeoutMs`.
 */
export async function checkHealth(
  redis: Redis,
  stopping: boolean,
  timeoutMs = PING_TIMEOUT_MS,
): Promise<HealthReport> {
  let pong = false;
  if (redis.status === 'ready') {
    const ping = redis.ping().then((reply) => {
      pong = reply === 'PONG';
    });
    await within(ping, timeoutMs);
  }
  return { ok: pong && !stopping, redis: pong ? 'up' : 'down', stopping };
}

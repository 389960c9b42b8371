/**
 * The expire job: the chain of delayed hub jobs behind time-bound access. Each link reads the
 * peer's CURRENT inventory record (so a rotated key or an extended expiry is simply picked up) and
 * either waits longer (re-queues itself for the warning or the expiry time), warns the owner once,
 * or removes the peer at its expiry through the revoke job's code. Provisioning queues the first
 * link as `expire-<requestId>`; an approved `/vpn extend` only changes the records.
 */

import { expireJobId } from '../queue/job-ids.js';
import type { HubJob } from '../queue/jobs.js';
import type { WorkerContext } from './context.js';
import { revoke } from './revoke.js';

type ExpireJob = Extract<HubJob, { kind: 'expire' }>;

/** Delayed jobs may fire a little early on another process's clock; this much early still counts. */
const EARLY_MS = 1_000;

/** What one link did. */
export type ExpireOutcome = 'gone' | 'permanent' | 'waiting' | 'warned' | 'revoked';

/** When the first link should run: at the warning time, or at once if that is already past. */
export function firstLinkDelay(forMs: number, warningMs: number): number {
  return Math.max(0, forMs - warningMs);
}

/** Runs one link of the chain. Throws TunnelgateError when the removal fails (then retried). */
export async function expirePeer(ctx: WorkerContext, job: ExpireJob, jobId?: string): Promise<ExpireOutcome> {
  const record = await ctx.inventory.findByRequest(job.hub, job.requestId);
  if (record === null) return 'gone';
  if (record.expiresAt === null) return 'permanent';
  const now = ctx.clock().getTime();
  const due = Date.parse(record.expiresAt);
  const warnAt = due - ctx.config.policy.expiryWarning;
  const later = (at: number, tag: string) =>
    ctx.enqueueHub(job, {
      delayMs: Math.max(0, at - now),
      jobId: `${expireJobId(job.requestId)}-${tag}${at}`,
    });

  if (now < warnAt - EARLY_MS) {
    await later(warnAt, 'w');
    return 'waiting';
  }
  if (now < due - EARLY_MS) {
    const mark = ctx.keys.once(`expiry-warning:${job.requestId}:${due}`);
    const ttlSec = Math.ceil((due - now) / 1000) + 86_400;
    if ((await ctx.redis.set(mark, '1', 'EX', ttlSec, 'NX')) === 'OK') {
      const reply = {
        kind: 'peer.expiring' as const,
        requestId: record.requestId,
        peer: record.peer,
        hub: record.hub,
        expiresAt: record.expiresAt,
      };
      try {
        await ctx.notify([{ to: { type: 'user', id: record.owner }, private: true, reply }], jobId);
      } catch (err) {
        await ctx.redis.del(mark);
        throw err;
      }
    }
    await later(due, 'x');
    return 'warned';
  }
  await revoke(
    ctx,
    {
      kind: 'revoke',
      hub: record.hub,
      publicKey: record.publicKey,
      peer: record.peer,
      by: 'expiry',
      byRoles: [],
      cause: 'expiry',
      requestId: record.requestId,
    },
    jobId,
  );
  return 'revoked';
}

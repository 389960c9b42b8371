/**
 * The revoke job (also offboarding and expiry of time-bound peers): removes a peer from the live
 * interface and from the hub's config file in one SSH exec, verifies it is gone from both, then
 * frees its address. Idempotent: removing an absent peer is a no-op on the hub.
 */

import { TunnelgateError } from '../core/errors.js';
import { markRevoked } from '../domain/approval.js';
import { removalProblem } from '../domain/authority.js';
import { hubConfig } from '../domain/hubs.js';
import type { Message } from '../domain/models/reply.js';
import { dumpStep, parsePeerCheck, removeSteps } from '../hub/programs/peers.js';
import { runScript } from '../hub/ssh/remote-script.js';
import type { HubJob } from '../queue/jobs.js';
import { ReviewStore } from '../store/reviews.js';
import { endBreakGlass } from './break-glass-end.js';
import type { WorkerContext } from './context.js';

type RevokeJob = Extract<HubJob, { kind: 'revoke' }>;

/** Removes the peer; throws TunnelgateError on failure (retryable ones are retried). */
export async function revoke(ctx: WorkerContext, job: RevokeJob, jobId?: string): Promise<void> {
  const hub = hubConfig(ctx.config, job.hub);
  // The peer's key may have changed since the job was queued (a rotation finished in between):
  // remove the key the peer holds now, found by its request.
  const record =
    (await ctx.inventory.find(hub.name, job.publicKey)) ??
    (job.requestId === undefined ? null : await ctx.inventory.findByRequest(hub.name, job.requestId));
  const requestId = job.requestId ?? record?.requestId;
  const request = requestId === undefined ? null : await ctx.requests.find(requestId);
  const breakGlass = request?.breakGlass !== undefined;
  const reviews = new ReviewStore(ctx.redis, ctx.keys);
  const review = job.reviewId === undefined ? null : await reviews.find(job.reviewId);
  const problem = removalProblem(job, record, ctx.config, ctx.clock(), { breakGlass, review });
  if (problem !== null) {
    throw new TunnelgateError('FORBIDDEN', `refused to remove ${job.peer} from ${hub.name}: ${problem}`);
  }
  const publicKey = record?.publicKey ?? job.publicKey;
  // A break-glass peer's counters are read in the same exec, just before it goes, for the summary.
  const steps = removeSteps(hub, publicKey);
  const results = await runScript(
    ctx.pool.get(hub.name),
    breakGlass ? [{ ...dumpStep(hub), allowFail: true }, ...steps] : steps,
  );
  const check = parsePeerCheck(results.check?.stdout ?? '');
  if (check.liveAllowedIps !== null || check.inFile) {
    throw new TunnelgateError(
      'VERIFY_FAILED',
      `peer ${job.peer} is still on hub ${hub.name} after removal (live: ${check.liveAllowedIps === null ? 'no' : 'yes'}, config file: ${check.inFile ? 'yes' : 'no'})`,
      { hub: hub.name },
    );
  }
  await ctx.inventory.remove(hub.name, publicKey);
  const now = ctx.clock();
  if (requestId !== undefined) {
    await ctx.requests.update(requestId, (current) =>
      current.state === 'revoked' ? { ok: true, request: current } : markRevoked(current, job.by, now),
    );
  }
  if (review !== null) await reviews.markRemoved(review.id, job.peer, now);
  await ctx.audit.append({
    at: now.toISOString(),
    actor: job.by,
    action: job.cause,
    hub: hub.name,
    target: job.peer,
    result: 'ok',
  });
  const reply = {
    kind: 'peer.revoked' as const,
    peer: job.peer,
    hub: hub.name,
    by: job.by,
    cause: job.cause,
  };
  const messages: Message[] = [];
  if (record !== null) messages.push({ to: { type: 'user', id: record.owner }, private: true, reply });
  if (job.notify !== undefined && job.notify !== record?.owner) {
    messages.push({ to: { type: 'user', id: job.notify }, private: true, reply });
  }
  const last = messages.at(-1);
  if (last !== undefined) Object.assign(last, { jobId, final: true });
  if (request?.breakGlass !== undefined) {
    const summary = await endBreakGlass(ctx, request, {
      cause: job.cause,
      by: job.by,
      now,
      dump: results.dump,
    });
    if (summary !== null) messages.push(summary);
  }
  await ctx.notify(messages, jobId);
}

/** Tells the requester of a failed revocation what happened. */
export async function revokeFailed(
  ctx: WorkerContext,
  job: RevokeJob,
  error: TunnelgateError,
  jobId?: string,
): Promise<void> {
  if (job.reviewId !== undefined)
    await new ReviewStore(ctx.redis, ctx.keys).markRemoved(job.reviewId, job.peer, ctx.clock(), true);
  await ctx.audit.append({
    at: ctx.clock().toISOString(),
    actor: job.by,
    action: job.cause,
    hub: job.hub,
    target: job.peer,
    result: 'failed',
    detail: error.code,
  });
  const reply = {
    kind: 'peer.failed' as const,
    peer: job.peer,
    hub: job.hub,
    action: job.cause,
    error: error.toJSON(),
  };
  const to = job.notify ?? (await ctx.inventory.find(job.hub, job.publicKey))?.owner;
  if (to !== undefined)
    await ctx.notify([{ to: { type: 'user', id: to }, private: true, reply, jobId, final: true }], jobId);
}

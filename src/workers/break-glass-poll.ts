/**
 * The poll behind break-glass, for when no webhook comes: every `oncall.pollEvery` the provider is
 * asked whether the grant's incident is still open; once it is not, the peer is removed (cause
 * `incident`). A provider that fails to answer ends nothing: the deadline still applies, and the
 * next poll asks again.
 */
import type { RequestId } from '../core/ids.js';
import type { WorkerContext } from './context.js';

/** What one poll did. */
export type PollOutcome = 'ended' | 'open' | 'unanswered' | 'over';

/** One poll of the grant of request `requestId`; queues the next one while the grant lasts. */
export async function pollBreakGlass(ctx: WorkerContext, requestId: RequestId): Promise<PollOutcome> {
  const grant = (await ctx.breakGlass.all()).find((g) => g.requestId === requestId);
  const roster = ctx.oncall;
  if (grant === undefined || roster === undefined) return 'over';
  const now = ctx.clock().getTime();
  const incident = await roster.provider.incident(grant.incidentId).catch((err: unknown) => {
    ctx.logger.warn({ err, requestId }, 'break-glass poll: the on-call provider did not answer');
    return undefined;
  });
  if (incident !== undefined && (incident === null || !incident.open)) {
    const record = await ctx.inventory.findByRequest(grant.hub, requestId);
    if (record === null) {
      await ctx.breakGlass.end(requestId);
      return 'ended';
    }
    await ctx.enqueueHub(
      {
        kind: 'revoke',
        hub: record.hub,
        publicKey: record.publicKey,
        peer: record.peer,
        by: `${grant.provider}-poll`,
        byRoles: [],
        cause: 'incident',
        requestId: record.requestId,
      },
      { jobId: `revoke-${record.hub}-${record.requestId}` },
    );
    return 'ended';
  }
  // The deadline's expiry chain ends the grant; polling stops with it.
  if (now < Date.parse(grant.until)) {
    const every = ctx.config.oncall?.pollEvery ?? 60_000;
    await ctx.enqueueTask(
      { kind: 'breakglass-poll', requestId },
      { delayMs: every, jobId: `bg-poll-${requestId}-${now}` },
    );
  }
  return incident === undefined ? 'unanswered' : 'open';
}

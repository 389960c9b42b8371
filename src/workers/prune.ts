/**
 * Pruning on the scheduled maintenance run (the reminder check's job, `policy.reminderCron`):
 * requests that ended denied, revoked, expired or failed more than `policy.keepFinished` ago are
 * removed with their sealed keys and index entries, so a flood of requests does not stay in Redis
 * forever. The audit log keeps every entry about them (it is never trimmed) and records each
 * removal; a request that a peer in the inventory still names is kept.
 */
import type { AccessRequest } from '../domain/models/request.js';
import type { WorkerContext } from './context.js';

/** Removes the finished requests older than `policy.keepFinished`; returns their ids. */
export async function pruneFinished(
  ctx: Pick<WorkerContext, 'config' | 'requests' | 'inventory' | 'audit' | 'clock' | 'logger'>,
): Promise<string[]> {
  const now = ctx.clock();
  const cutoff = new Date(now.getTime() - ctx.config.policy.keepFinished);
  const stillNamed = async (request: AccessRequest) =>
    (await ctx.inventory.findByRequest(request.hub, request.id)) !== null;
  const removed = await ctx.requests.prune(cutoff, stillNamed);
  for (const request of removed) {
    await ctx.audit.append({
      at: now.toISOString(),
      actor: 'scheduler',
      action: 'prune',
      hub: request.hub,
      target: request.id,
      result: 'ok',
      detail: `${request.state} request for ${request.peer} removed after policy.keepFinished`,
    });
  }
  if (removed.length > 0) ctx.logger.info({ removed: removed.length }, 'pruned finished requests');
  return removed.map((r) => r.id);
}

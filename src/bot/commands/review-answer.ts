/**
 * `/vpn review keep|revoke <peer>`: a reviewer's answer in the open review — the owner for their
 * own peers, a lead for the peers of people who left. The answer is recorded first (so a kept peer
 * is never revoked by the due date); a revoke then goes through the revoke job, whose worker
 * re-checks the answer in the review.
 */
import { TunnelgateError } from '../../core/errors.js';
import type { Actor } from '../../domain/models/command.js';
import type { Message } from '../../domain/models/reply.js';
import type { ReviewVerdict } from '../../domain/models/review.js';
import { answerItem } from '../../domain/review.js';
import { ReviewStore } from '../../store/reviews.js';
import { type BotContext, toActor } from '../context.js';
import { queueRevocation } from '../revocation.js';

export async function handleReviewAnswer(
  ctx: BotContext,
  actor: Actor,
  verdict: ReviewVerdict,
  peer: string,
): Promise<Message[]> {
  const reviews = new ReviewStore(ctx.redis, ctx.keys);
  const open = await reviews.open();
  if (open === null) {
    throw new TunnelgateError('NOT_FOUND', 'no access review is open', {
      hint: 'see the last one with /vpn review status',
    });
  }
  const now = ctx.clock();
  const item = await reviews.updateItem(
    open.id,
    peer,
    (current, review) => answerItem(review, current, verdict, actor, ctx.config.roles, now),
    true,
  );
  await ctx.audit.append({
    at: now.toISOString(),
    actor: actor.id,
    action: `review-${verdict}`,
    hub: item.hub,
    target: peer,
    result: 'ok',
    detail: open.id,
  });
  if (verdict === 'keep') {
    return [toActor(actor, { kind: 'notice', text: `Kept ${peer} in review ${open.id}. Thank you.` })];
  }
  const record = await ctx.inventory.findByRequest(item.hub, item.requestId);
  if (record === null) {
    await reviews.markRemoved(open.id, peer, now);
    return [
      toActor(actor, {
        kind: 'notice',
        text: `${peer} is already gone; recorded as revoked in review ${open.id}.`,
      }),
    ];
  }
  const jobId = await queueRevocation(ctx, record, actor, 'review', open.id);
  return [
    toActor(
      actor,
      { kind: 'job.queued', jobId, text: `revoking ${record.peer} on ${record.hub} (review ${open.id})…` },
      { jobId },
    ),
  ];
}

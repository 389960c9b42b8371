/**
 * The close of an access review, after the review check has closed it (atomically, so no answer
 * comes in any more): every unanswered peer is settled, the revocations owed are queued through
 * the revoke job (which re-checks each against the review), and the leads get the report.
 */
import type { Review } from '../domain/models/review.js';
import { closeItem } from '../domain/review.js';
import { reviewCsv, reviewMarkdown } from '../domain/review-report.js';
import type { ReviewStore } from '../store/reviews.js';
import type { WorkerContext } from './context.js';

/**
 * After the close (once, retried until done): settles each unanswered peer (flagged, queued for
 * revocation, or gone), queues the revocations still owed (the due date's, and a reviewer's revoke
 * whose job was lost), and posts the report to the leads.
 */
export async function settleReview(ctx: WorkerContext, reviews: ReviewStore, closed: Review): Promise<void> {
  const now = ctx.clock();
  const action = closed.action ?? 'flag';
  for (const item of closed.items) {
    const record = await ctx.inventory.findByRequest(item.hub, item.requestId);
    const settled = await reviews.updateItem(closed.id, item.peer, (i) => {
      const next = closeItem(i, action, record !== null, now);
      return next === i ? null : next;
    });
    if (settled.outcome !== 'revoke-queued') continue;
    // A peer its reviewer asked to revoke that is gone already (its job ran, or a plain revoke did).
    if (record === null) {
      await reviews.markRemoved(closed.id, item.peer, now);
      continue;
    }
    await ctx.enqueueHub(
      {
        kind: 'revoke',
        hub: record.hub,
        publicKey: record.publicKey,
        peer: record.peer,
        by: settled.decision?.by ?? 'access-review',
        byRoles: settled.decision?.byRoles ?? [],
        cause: 'review',
        requestId: record.requestId,
        reviewId: closed.id,
      },
      { jobId: `revoke-${record.hub}-${record.requestId}` },
    );
  }
  const review = (await reviews.find(closed.id)) ?? closed;
  const flagged = review.items.filter((i) => i.outcome === 'flagged').length;
  const revoking = review.items.filter((i) => i.decision === null && i.outcome === 'revoke-queued').length;
  await ctx.audit.append({
    at: ctx.clock().toISOString(),
    actor: 'access-review',
    action: 'review-close',
    target: review.id,
    result: 'ok',
    detail: `${flagged} flagged, ${revoking} revoked at the due date`,
  });
  await ctx.notify([
    {
      to: { type: 'leads' },
      private: false,
      reply: {
        kind: 'notice',
        text: `Access review ${review.id} closed: ${flagged} unconfirmed peer(s) flagged, ${revoking} being revoked (policy.reviewAction ${review.action ?? 'flag'}). Report follows.`,
      },
    },
    {
      to: { type: 'leads' },
      private: false,
      reply: {
        kind: 'review.report',
        reviewId: review.id,
        markdown: reviewMarkdown(review),
        csv: reviewCsv(review),
      },
    },
  ]);
  const at = ctx.clock().toISOString();
  await reviews.updateHeader(review.id, (c) => ({ write: { ...c, settledAt: at } }));
}

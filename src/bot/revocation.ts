/**
 * Queues the removal of one peer from its hub, for `/vpn revoke`, `/vpn offboard` and a review's
 * revoke answer (`reviewId`: the worker re-checks the answer in that review). The job id
 * is per request, so asking twice while the first removal is queued does not queue it again.
 */

import type { ReviewId } from '../core/ids.js';
import type { Actor } from '../domain/models/command.js';
import type { PeerRecord } from '../domain/models/peer.js';
import type { BotContext } from './context.js';

/** Queues the revoke job and returns its id. */
export function queueRevocation(
  ctx: BotContext,
  record: PeerRecord,
  actor: Actor,
  cause: 'revoke' | 'offboard' | 'review',
  reviewId?: ReviewId,
): Promise<string> {
  return ctx.queues.addHub(
    {
      kind: 'revoke',
      hub: record.hub,
      publicKey: record.publicKey,
      peer: record.peer,
      by: actor.id,
      byRoles: [...actor.platformRoles],
      cause,
      requestId: record.requestId,
      ...(reviewId === undefined ? {} : { reviewId }),
      notify: actor.id,
    },
    { jobId: `revoke-${record.hub}-${record.requestId}` },
  );
}

/**
 * The rules of an access review, pure: who answers for which peer, when an answer is taken, and
 * what the due date does to the peers nobody confirmed. A confirmed peer is never revoked by a
 * review: the due date only touches peers without an answer.
 */

import type { RolesConfig } from '../config/schema.js';
import { TunnelgateError } from '../core/errors.js';
import type { HubName, ReviewId } from '../core/ids.js';
import type { Actor } from './models/command.js';
import type { PeerRecord } from './models/peer.js';
import type { Review, ReviewHeader, ReviewItem, ReviewVerdict } from './models/review.js';
import { isLead } from './roles.js';

/** What a new review is made of. */
export interface ReviewPlan {
  id: ReviewId;
  records: readonly PeerRecord[];
  /** Owners who left: their peers are asked of the leads. */
  departed: ReadonlySet<string>;
  startedBy: string;
  now: Date;
  dueMs: number;
  hub?: HubName | undefined;
}

/** A new open review over `records`, sorted by hub and peer. */
export function newReview(plan: ReviewPlan): Review {
  const items = [...plan.records]
    .sort((a, b) => a.hub.localeCompare(b.hub) || a.peer.localeCompare(b.peer))
    .map(
      (r): ReviewItem => ({
        hub: r.hub,
        peer: r.peer,
        owner: r.owner,
        publicKey: r.publicKey,
        requestId: r.requestId,
        address: r.address,
        mode: r.mode,
        keyCreatedAt: r.createdAt,
        expiresAt: r.expiresAt,
        handshakeAgeSec: null,
        handshakeKnown: false,
        reviewer: plan.departed.has(r.owner) ? 'leads' : 'owner',
        decision: null,
        outcome: null,
        outcomeAt: null,
      }),
    );
  return {
    id: plan.id,
    state: 'open',
    ...(plan.hub === undefined ? {} : { hub: plan.hub }),
    startedBy: plan.startedBy,
    startedAt: plan.now.toISOString(),
    dueAt: new Date(plan.now.getTime() + plan.dueMs).toISOString(),
    askedAt: null,
    closedAt: null,
    action: null,
    settledAt: null,
    items,
  };
}

/** May `actor` answer for `item`? Its owner, or a lead for a peer whose owner left. */
export function answerProblem(item: ReviewItem, actor: Actor, roles: RolesConfig): string | null {
  if (item.reviewer === 'owner') {
    return actor.id === item.owner ? null : `only ${item.owner} answers the review of ${item.peer}`;
  }
  return isLead(actor, roles)
    ? null
    : `${item.owner} has left: only a lead answers the review of ${item.peer}`;
}

/**
 * `item` with `actor`'s answer. Throws CONFLICT for a closed review or a peer already answered,
 * FORBIDDEN for someone else's peer.
 */
export function answerItem(
  review: ReviewHeader,
  item: ReviewItem,
  verdict: ReviewVerdict,
  actor: Actor,
  roles: RolesConfig,
  now: Date,
): ReviewItem {
  if (review.state !== 'open') {
    throw new TunnelgateError(
      'CONFLICT',
      `review ${review.id} closed at ${review.closedAt ?? review.dueAt}`,
      {
        hint: 'use /vpn revoke to remove a peer now',
      },
    );
  }
  const problem = answerProblem(item, actor, roles);
  if (problem !== null) throw new TunnelgateError('FORBIDDEN', problem);
  if (item.decision !== null) {
    throw new TunnelgateError(
      'CONFLICT',
      `${item.peer} was already answered in review ${review.id}: ${item.decision.verdict} by ${item.decision.by} at ${item.decision.at}`,
      { hint: verdict === 'revoke' ? 'use /vpn revoke to remove it now' : 'nothing more to do' },
    );
  }
  const at = now.toISOString();
  return {
    ...item,
    decision: { verdict, by: actor.id, byRoles: [...actor.platformRoles], at },
    outcome: verdict === 'keep' ? 'kept' : 'revoke-queued',
    outcomeAt: at,
  };
}

/**
 * What the due date does to `item` under `action`: an unanswered peer is flagged, or queued for
 * revocation, or `gone` when it is no longer in the inventory (`present` false). An answered peer,
 * or one whose outcome is already set, is returned as it is.
 */
export function closeItem(
  item: ReviewItem,
  action: 'flag' | 'revoke',
  present: boolean,
  now: Date,
): ReviewItem {
  if (item.decision !== null || item.outcome !== null) return item;
  const outcome = !present ? 'gone' : action === 'revoke' ? 'revoke-queued' : 'flagged';
  return { ...item, outcome, outcomeAt: now.toISOString() };
}

/** One reviewer's progress. */
export interface ReviewProgress {
  /** The owner's user id, or `leads` for the peers of owners who left. */
  reviewer: string;
  total: number;
  kept: number;
  revoked: number;
  unanswered: number;
}

/** Progress per reviewer, in the order of the review's items. */
export function progress(review: Review): ReviewProgress[] {
  const byReviewer = new Map<string, ReviewProgress>();
  for (const item of review.items) {
    const reviewer = item.reviewer === 'leads' ? 'leads' : item.owner;
    const row = byReviewer.get(reviewer) ?? { reviewer, total: 0, kept: 0, revoked: 0, unanswered: 0 };
    row.total++;
    if (item.decision?.verdict === 'keep') row.kept++;
    else if (item.decision?.verdict === 'revoke') row.revoked++;
    else row.unanswered++;
    byReviewer.set(reviewer, row);
  }
  return [...byReviewer.values()];
}

/**
 * The rules of an access review, pure: who answers for which peer, when an answer is taken, and
 * what the due date does to the peers nobody confirmed. A confirmed peer is never revoked by a
 * review: the close only touches peers without an answer.
 */

import type { RolesConfig } from '../config/schema.js';
import { TunnelgateError } from '../core/errors.js';
import type { HubName, ReviewId, UserId } from '../core/ids.js';
import type { Actor } from './models/command.js';
import type { PeerRecord } from './models/peer.js';
import type { Review, ReviewItem, ReviewVerdict } from './models/review.js';
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
 * The review with `actor`'s answer for `peer`. Throws CONFLICT for a closed review or a peer
 * already answered, NOT_FOUND for a peer not in it, FORBIDDEN for someone else's peer.
 */
export function answer(
  review: Review,
  peer: string,
  verdict: ReviewVerdict,
  actor: Actor,
  roles: RolesConfig,
  now: Date,
): Review {
  if (review.state !== 'open') {
    throw new TunnelgateError(
      'CONFLICT',
      `review ${review.id} closed at ${review.closedAt ?? review.dueAt}`,
      {
        hint: 'use /vpn revoke to remove a peer now',
      },
    );
  }
  const index = review.items.findIndex((i) => i.peer === peer);
  const item = review.items[index];
  if (item === undefined) {
    throw new TunnelgateError('NOT_FOUND', `${peer} is not in review ${review.id}`, {
      hint: 'see the peers under review with /vpn review status',
    });
  }
  const problem = answerProblem(item, actor, roles);
  if (problem !== null) throw new TunnelgateError('FORBIDDEN', problem);
  if (item.decision !== null) {
    throw new TunnelgateError(
      'CONFLICT',
      `${peer} was already answered in review ${review.id}: ${item.decision.verdict} by ${item.decision.by} at ${item.decision.at}`,
      { hint: verdict === 'revoke' ? 'use /vpn revoke to remove it now' : 'nothing more to do' },
    );
  }
  const at = now.toISOString();
  const answered: ReviewItem = {
    ...item,
    decision: { verdict, by: actor.id, at },
    outcome: verdict === 'keep' ? 'kept' : 'revoke-queued',
    outcomeAt: at,
  };
  return { ...review, items: review.items.map((i, n) => (n === index ? answered : i)) };
}

/**
 * The review closed at `now` under `action`: each peer without an answer is flagged, or queued
 * for revocation, or `gone` when `present` says it is no longer in the inventory. Answered peers
 * keep their outcome.
 */
export function close(
  review: Review,
  now: Date,
  action: 'flag' | 'revoke',
  present: (item: ReviewItem) => boolean,
): Review {
  const at = now.toISOString();
  const items = review.items.map((item): ReviewItem => {
    if (item.decision !== null) return item;
    const outcome = !present(item) ? 'gone' : action === 'revoke' ? 'revoke-queued' : 'flagged';
    return { ...item, outcome, outcomeAt: at };
  });
  return { ...review, state: 'closed', closedAt: at, action, items };
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

/** The items `reviewer` (an owner's id, or `leads`) still has to answer. */
export function unansweredBy(review: Review, reviewer: UserId | 'leads'): ReviewItem[] {
  return review.items.filter(
    (i) =>
      i.decision === null &&
      (reviewer === 'leads' ? i.reviewer === 'leads' : i.reviewer === 'owner' && i.owner === reviewer),
  );
}

/**
 * An access review: a snapshot of peers taken when it starts, each asked of its reviewer (the
 * owner, or the leads for an owner who left), with the reviewer's answer and what happened at the
 * due date. It is the evidence an auditor asks for, so nothing in it is ever deleted while kept.
 */
import { z } from 'zod';
import { HubName, PeerName, RequestId, ReviewId, UserId } from '../../core/ids.js';
import { PublicKey } from '../../wg/keys.js';
import { TunnelMode } from './request.js';

/** An answer to a review: keep the peer, or revoke it. */
export const ReviewVerdict = z.enum(['keep', 'revoke']);
export type ReviewVerdict = z.infer<typeof ReviewVerdict>;

/**
 * What became of a peer: `kept` (confirmed), `revoke-queued` / `revoked` / `revoke-failed` (by its
 * reviewer or at the due date; failed: the revoke job refused or gave up, the peer is still there),
 * `flagged` (unconfirmed at the due date, leads told), `gone` (removed otherwise).
 */
export const ReviewOutcome = z.enum(['kept', 'revoke-queued', 'revoked', 'revoke-failed', 'flagged', 'gone']);
export type ReviewOutcome = z.infer<typeof ReviewOutcome>;

/** One peer under review, as it was when the review started. */
export const ReviewItem = z.object({
  hub: HubName,
  peer: PeerName,
  owner: UserId,
  publicKey: PublicKey,
  requestId: RequestId,
  address: z.string(),
  mode: TunnelMode,
  keyCreatedAt: z.string(),
  expiresAt: z.string().nullable(),
  /** Seconds since the latest handshake when the asks were sent; null = never or unknown. */
  handshakeAgeSec: z.number().nullable(),
  /** False when the hub could not be read for the asks (the handshake is then unknown). */
  handshakeKnown: z.boolean().default(false),
  /** Who answers: the owner, or the leads when the owner has left. */
  reviewer: z.enum(['owner', 'leads']),
  decision: z
    .object({
      verdict: ReviewVerdict,
      by: UserId,
      /** The platform roles `by` held when answering (a lead by role answers for people who left). */
      byRoles: z.array(z.string()).default([]),
      at: z.string(),
    })
    .nullable(),
  /** What became of the peer, and when; null while it waits for an answer. */
  outcome: ReviewOutcome.nullable(),
  outcomeAt: z.string().nullable(),
});
export type ReviewItem = z.infer<typeof ReviewItem>;

/** A review without its items: what is stored in one record (the items are stored per peer). */
export const ReviewHeader = z.object({
  id: ReviewId,
  state: z.enum(['open', 'closed']),
  /** Only this hub's peers; absent: every hub. */
  hub: HubName.optional(),
  /** A lead's user id, or `schedule` for `policy.reviewEvery`. */
  startedBy: z.string(),
  startedAt: z.string(),
  dueAt: z.string(),
  /** When the asks went out (with the live handshakes); null until then. */
  askedAt: z.string().nullable(),
  closedAt: z.string().nullable(),
  /** `policy.reviewAction` applied at the due date. */
  action: z.enum(['flag', 'revoke']).nullable(),
  /** When the close was settled: outcomes set, revocations queued, the report posted. */
  settledAt: z.string().nullable().default(null),
});
export type ReviewHeader = z.infer<typeof ReviewHeader>;

/** A review with its items (sorted by hub and peer). */
export const Review = ReviewHeader.extend({ items: z.array(ReviewItem) });
export type Review = z.infer<typeof Review>;

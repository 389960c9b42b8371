/**
 * Job payloads shared by producers (the bot) and the worker processes, validated on both ends.
 * Payloads name records (request ids, public keys), never secrets: a private key is never job data.
 */
import { z } from 'zod';
import { HubName, PeerName, RequestId, ReviewId, UserId } from '../core/ids.js';
import { AdoptEntry } from '../domain/models/command.js';
import { DiagnosisView, FindingId } from '../domain/models/diagnosis.js';
import { Message } from '../domain/models/reply.js';
import { PublicKey } from '../wg/keys.js';

/** Mutating work on one hub; runs on that hub's queue, one job at a time across all workers. */
export const HubJob = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('provision'), hub: HubName, requestId: RequestId }),
  z.object({
    kind: z.literal('revoke'),
    hub: HubName,
    publicKey: PublicKey,
    peer: PeerName,
    by: z.string(),
    /** The platform roles `by` held when asking, so the worker re-checks a lead by role. */
    byRoles: z.array(z.string()).default([]),
    cause: z.enum(['revoke', 'offboard', 'expiry', 'overdue', 'incident', 'review']),
    requestId: RequestId.optional(),
    /** The access review a `review` removal follows (re-checked against it by the worker). */
    reviewId: ReviewId.optional(),
    /** Who to tell about the result (besides the owner). */
    notify: UserId.optional(),
  }),
  z.object({
    kind: z.literal('reconcile'),
    hub: HubName,
    by: z.string(),
    rebuild: z.boolean().default(false),
  }),
  /**
   * Puts foreign peers under management (workers/adopt.ts): all entries or none. `by` must be a
   * lead when the worker runs; `dryRun` only reports what would change.
   */
  z.object({
    kind: z.literal('adopt'),
    hub: HubName,
    by: UserId,
    byRoles: z.array(z.string()).default([]),
    entries: z.array(AdoptEntry).min(1).max(1_000),
    dryRun: z.boolean().default(false),
  }),
  /** One step of a key rotation; the rotation's state lives in Redis (bot/store/rotations.ts). */
  z.object({
    kind: z.literal('rotate'),
    hub: HubName,
    peer: PeerName,
    /** 0 stages the new key; each later round watches for its handshake for a while. */
    round: z.number().int().min(0).default(0),
  }),
  /** A time-bound peer's expiry chain: warns its owner, then removes it (workers/expiry.ts). */
  z.object({ kind: z.literal('expire'), hub: HubName, peer: PeerName, requestId: RequestId }),
  /** An approved `/vpn extend`: the new expiry into the hub's config file (workers/set-expiry.ts). */
  z.object({ kind: z.literal('set-expiry'), hub: HubName, peer: PeerName, requestId: RequestId }),
  /** An approved `/vpn fix`: applies a stored finding's action, then re-runs its report (workers/fix.ts). */
  z.object({
    kind: z.literal('fix'),
    hub: HubName,
    findingId: FindingId,
    proposedBy: UserId,
    approvedBy: UserId,
    /** The digest of the action the lead approved (the gate's subject): the worker runs only that. */
    digest: z.string().regex(/^[0-9a-f]{64}$/),
  }),
]);
export type HubJob = z.infer<typeof HubJob>;

/** Work that changes no hub (status and list reads, request expiry): the shared tasks queue. */
export const TaskJob = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('peers'),
    hubs: z.array(HubName),
    /** Reply to this user with these peers (by public key); empty = all on the hubs. */
    to: UserId,
    scope: z.string(),
    publicKeys: z.array(PublicKey).optional(),
    reply: z.enum(['peer.list', 'peer.status']),
  }),
  /** Expires a request still pending at its deadline, and tells the requester. */
  z.object({ kind: z.literal('expire-request'), requestId: RequestId }),
  /**
   * The scheduled maintenance run: key-age and idle-peer check (workers/reminders.ts), pruning
   * (workers/prune.ts) and the full audit chain check (workers/audit-check.ts).
   */
  z.object({ kind: z.literal('reminder-check') }),
  /** Access reviews: sends the asks, reminds, closes at the due date, starts on schedule (workers/review-check.ts). */
  z.object({ kind: z.literal('review-check') }),
  /**
   * `/vpn diagnose`: the playbook over one hub (or one peer on it), read in one exec
   * (workers/diagnose.ts); `view` is what the asker may see (an owner: their peer only).
   */
  z.object({
    kind: z.literal('diagnose'),
    hub: HubName,
    peer: PeerName.optional(),
    to: UserId,
    view: DiagnosisView,
  }),
  /** `/vpn audit`: the hardening checks over one hub (workers/audit.ts). */
  z.object({ kind: z.literal('audit'), hub: HubName, to: UserId }),
  /** Asks the provider whether a break-glass grant's incident is still open (workers/break-glass-poll.ts). */
  z.object({ kind: z.literal('breakglass-poll'), requestId: RequestId }),
]);
export type TaskJob = z.infer<typeof TaskJob>;

/** Messages from workers to the bot, delivered by the adapters. Never a `peer.config`. */
export const NotifyJob = z.object({
  messages: z.array(Message).refine((all) => all.every((m) => m.reply.kind !== 'peer.config'), {
    message: 'peer.config carries key material and is never queued',
  }),
  /** Set on a config redelivery: deliver only the configs of these messages, as this try (1, 2, …). */
  configAttempt: z.number().int().min(1).optional(),
});
export type NotifyJob = z.infer<typeof NotifyJob>;

/**
 * A reply outlet: one process that asked for work and reads its replies from a notify queue of its
 * own (e.g. one `tunnelgate shell` session beside a running bot, which reads `notify`).
 */
export const ReplyOutlet = z.string().regex(/^[a-z0-9][a-z0-9-]{0,47}$/, 'expected a reply outlet name');

/** The signed envelope field of a hub or task job naming the outlet its replies go to. */
export const ReplyTo = z.object({ replyTo: ReplyOutlet.optional() });

/** Queue names (BullMQ prefixes them with `redis.prefix`). */
export const QUEUE = {
  hub: (hub: string) => `hub-${hub}`,
  tasks: 'tasks',
  notify: 'notify',
  /** The notify queue of one reply outlet. */
  replies: (outlet: string) => `notify-${ReplyOutlet.parse(outlet)}`,
} as const;

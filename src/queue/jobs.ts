/**
 * Job payloads shared by producers (the bot) and the worker processes, validated on both ends.
 * Payloads name records (request ids, public keys), never secrets: a private key is never job data.
 */
import { z } from 'zod';
import { HubName, PeerName, RequestId, UserId } from '../core/ids.js';
import { AdoptEntry } from '../domain/models/command.js';
import { FindingId } from '../domain/models/diagnosis.js';
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
    cause: z.enum(['revoke', 'offboard', 'expiry', 'overdue']),
    requestId: RequestId.optional(),
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
  /** The scheduled key-age and idle-peer check (workers/reminders.ts). */
  z.object({ kind: z.literal('reminder-check') }),
  /** `/vpn diagnose`: the playbook over one hub (or one peer on it), read in one exec (workers/diagnose.ts). */
  z.object({ kind: z.literal('diagnose'), hub: HubName, peer: PeerName.optional(), to: UserId }),
  /** `/vpn audit`: the hardening checks over one hub (workers/audit.ts). */
  z.object({ kind: z.literal('audit'), hub: HubName, to: UserId }),
]);
export type TaskJob = z.infer<typeof TaskJob>;

/** Messages from workers to the bot, delivered by the adapters. Never a `peer.config`. */
export const NotifyJob = z.object({
  messages: z.array(Message).refine((all) => all.every((m) => m.reply.kind !== 'peer.config'), {
    message: 'peer.config carries key material and is never queued',
  }),
});
export type NotifyJob = z.infer<typeof NotifyJob>;

/** Queue names (BullMQ prefixes them with `redis.prefix`). */
export const QUEUE = {
  hub: (hub: string) => `hub-${hub}`,
  tasks: 'tasks',
  notify: 'notify',
} as const;

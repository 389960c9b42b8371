/**
 * Job payloads shared by producers (the bot) and the worker processes, validated on both ends.
 * Payloads name records (request ids, public keys), never secrets: a private key is never job data.
 */
import { z } from 'zod';
import { Message } from '../bot/model/reply.js';
import { HubName, PeerName, RequestId, UserId } from '../core/ids.js';
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
    cause: z.enum(['revoke', 'offboard', 'expiry']),
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

/** Retry policy for hub jobs: transient failures back off 2 s, 4 s, 8 s, 16 s. */
export const HUB_JOB_ATTEMPTS = 5;
export const HUB_JOB_BACKOFF_MS = 2_000;

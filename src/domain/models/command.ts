/**
 * The platform-neutral command model. Every adapter (shell, Slack, Discord) turns its input into a
 * {@link Command}; the grammar in `bot/grammar.ts` parses `/vpn …` text into one. The schema is
 * the one set of text rules for every entry point (text, Discord options, buttons and modals,
 * Slack modals): {@link validCommand} runs it again on whatever reaches the bot.
 */
import { z } from 'zod';
import { TunnelgateError } from '../../core/errors.js';
import { DecisionId, DeviceName, HubName, PeerName, ReviewId, UserId } from '../../core/ids.js';
import { PublicKey } from '../../wg/keys.js';
import { FindingId } from './diagnosis.js';

export const ListScope = z.enum(['mine', 'pending', 'all']);
export type ListScope = z.infer<typeof ListScope>;

/**
 * Characters no command text may hold: control characters, the Unicode line and paragraph
 * separators (U+2028, U+2029) and the bidi embeddings, overrides, isolates and marks that make
 * text read differently from what it is.
 */
export const UNSAFE_TEXT = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/u;

/** Free text (reasons) is kept to one line of printable characters, without bidi controls. */
export const Reason = z
  .string()
  .trim()
  .min(1, 'the reason is empty: say in a few words why')
  .max(300, 'keep the reason to 300 characters')
  .refine(
    (text) => !UNSAFE_TEXT.test(text),
    'reasons are one line without control characters, line separators or bidi overrides',
  );

/** The start of a WireGuard public key (base64), enough to name one peer: 4 to 44 characters. */
export const KeyPrefix = z
  .string()
  .regex(/^[A-Za-z0-9+/]{4,43}=?$/, 'key prefixes are the first 4-44 characters of a public key');

/** One peer to adopt: the key prefix that names it, and its new owner and device name. */
export const AdoptEntry = z.object({ keyPrefix: KeyPrefix, owner: UserId, device: DeviceName });
export type AdoptEntry = z.infer<typeof AdoptEntry>;

export const Command = z.discriminatedUnion('verb', [
  z.object({
    verb: z.literal('help'),
    topic: z
      .string()
      .regex(/^[a-z]{1,20}$/, 'help topics are command names, e.g. request')
      .optional(),
  }),
  z.object({
    verb: z.literal('request'),
    device: DeviceName,
    hub: HubName.optional(),
    full: z.boolean().default(false),
    pubkey: PublicKey.optional(),
    /** Time-bound access, milliseconds. */
    forMs: z.number().int().positive().optional(),
    reason: Reason.optional(),
  }),
  /** `requestId` is any {@link DecisionId}: a request, an extension or a key change. */
  z.object({ verb: z.literal('approve'), requestId: DecisionId }),
  z.object({ verb: z.literal('deny'), requestId: DecisionId, reason: Reason.optional() }),
  z.object({ verb: z.literal('revoke'), peer: PeerName }),
  z.object({ verb: z.literal('offboard'), user: UserId }),
  z.object({ verb: z.literal('list'), scope: ListScope.default('mine') }),
  z.object({ verb: z.literal('status'), peer: PeerName.optional() }),
  z.object({ verb: z.literal('log'), count: z.number().int().min(1).max(200).default(20) }),
  /** The diagnosis playbook over a hub or a peer (`target` is resolved by the handler). */
  z.object({ verb: z.literal('diagnose'), target: PeerName }),
  /** The hardening audit of a hub (the only hub when none is named). */
  z.object({ verb: z.literal('audit'), hub: HubName.optional() }),
  /** Proposes (or, with `approve`, approves) the mechanical fix of a stored finding. */
  z.object({ verb: z.literal('fix'), findingId: FindingId, approve: z.boolean().default(false) }),
  /** Zero-downtime key rotation; without `pubkey` a new key pair is generated for the owner. */
  z.object({ verb: z.literal('rotate'), peer: PeerName, pubkey: PublicKey.optional() }),
  /** Asks leads to extend a time-bound peer by `forMs`. */
  z.object({ verb: z.literal('extend'), peer: PeerName, forMs: z.number().int().positive() }),
  /** Time-bound access at once, without approvers, for an open incident (on-call or leads). */
  z.object({
    verb: z.literal('breakglass'),
    hub: HubName,
    incident: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'incident ids are 1-64 letters, digits, "_" and "-"'),
    forMs: z.number().int().positive().optional(),
    full: z.boolean().default(false),
    reason: Reason.optional(),
  }),
  /** Access reviews: a lead starts one (`hub`, `dueMs`); reviewers `keep`/`revoke` a `peer`. */
  z
    .object({
      verb: z.literal('review'),
      action: z.enum(['start', 'status', 'report', 'keep', 'revoke']),
      peer: PeerName.optional(),
      hub: HubName.optional(),
      dueMs: z.number().int().positive().optional(),
      reviewId: ReviewId.optional(),
    })
    .refine((c) => (c.action === 'keep' || c.action === 'revoke') === (c.peer !== undefined), {
      message: 'keep and revoke take a peer name; the other review actions take none',
      path: ['peer'],
    }),
  /** Deliver again a config whose delivery failed (its sealed key was kept). */
  z.object({ verb: z.literal('resend'), peer: PeerName }),
  /** Compares hubs (one, or all) with the inventory and reports drift (leads). */
  z.object({ verb: z.literal('reconcile'), hub: HubName.optional() }),
  /** Puts a peer Tunnelgate did not make under management, found by a key prefix (leads). */
  z.object({
    verb: z.literal('adopt'),
    hub: HubName,
    keyPrefix: KeyPrefix,
    owner: UserId,
    device: DeviceName,
  }),
]);
export type Command = z.infer<typeof Command>;
export type Verb = Command['verb'];

/**
 * `candidate` checked against the {@link Command} schema, whichever adapter built it. Throws
 * INPUT_INVALID naming the first field the schema refuses.
 */
export function validCommand(candidate: unknown): Command {
  const parsed = Command.safeParse(candidate);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join('.') ?? '';
  throw new TunnelgateError(
    'INPUT_INVALID',
    `${field === '' ? '' : `${field}: `}${issue?.message ?? 'invalid command'}`,
    { hint: 'see /vpn help' },
  );
}

/**
 * A user's name made safe for peer names: lower-case a-z, 0-9, ".", "_" and "-", 1-32 characters,
 * starting with a letter or digit (so `<name>-<device>` is always a valid PeerName).
 */
export const ActorName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,31}$/, 'actor names are 1-32 characters: a-z, 0-9, ".", "_" and "-"');
export type ActorName = z.infer<typeof ActorName>;

/** Who sent a command, as the adapter knows them. */
export const Actor = z.object({
  id: UserId,
  /**
   * A safe form of the user's display name, used only to name their new peers (`<name>-<device>`);
   * absent: the id is used. Identity, ownership, roles and approvals always use `id`.
   */
  name: ActorName.optional(),
  /** Role ids the platform reports for the user (e.g. Discord guild roles). */
  platformRoles: z.array(z.string()).default([]),
});
export type Actor = z.infer<typeof Actor>;

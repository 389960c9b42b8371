/**
 * The audit log's chain, as data: entries, their stored form, and the MACs that link them. Each
 * link is an HMAC (the signer's `audit` key, derived from the deployment secret) over the previous
 * link's MAC and the entry, so rewriting an entry, even with every later link recomputed, needs
 * the secret. The verification checkpoint is MACed with the same key under its own label.
 */
import { z } from 'zod';
import { HubName } from '../core/ids.js';
import { canonicalJson, type Signer, verifyMac } from '../domain/signer.js';

/** What happened, as a short lower-case word: `request`, `approve`, `deny`, `provision`, `revoke`, … */
export const AuditAction = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}$/, 'audit actions are short lower-case words, e.g. "approve"');
export type AuditAction = z.infer<typeof AuditAction>;

/**
 * How it ended: done, refused by policy, failed, handed to a worker, waiting for approval, or (for
 * `reconcile`) a hub that differs from the inventory.
 */
export const AuditResult = z.enum(['ok', 'refused', 'failed', 'queued', 'pending', 'drift']);
export type AuditResult = z.infer<typeof AuditResult>;

/** One audit entry, as MACed. */
export const AuditEntry = z.strictObject({
  /** When it happened (ISO 8601, UTC). */
  at: z.iso.datetime(),
  /** A chat user id, a shell user, or a component such as `scheduler`. */
  actor: z.string().min(1).max(100),
  action: AuditAction,
  hub: HubName.optional(),
  /** A request id or peer name. */
  target: z.string().min(1).max(100).optional(),
  result: AuditResult,
  /** A short explanation; never key material. */
  detail: z.string().max(500).optional(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

const MacHex = z.string().regex(/^[0-9a-f]{64}$/);

/** An entry as stored: its place in the log and in the chain. */
export const AuditRecord = AuditEntry.extend({
  /** The stream id (`<ms>-<n>`), which orders the log. */
  seq: z.string(),
  prevMac: MacHex,
  mac: MacHex,
});
export type AuditRecord = z.infer<typeof AuditRecord>;

/** The `prevMac` of the first entry. */
export const GENESIS_MAC = '0'.repeat(64);

/**
 * The MAC of one link: HMAC-SHA256 with the `audit` key over
 * `link\n<prevMac>\n<canonical JSON of the entry>` (keys sorted, absent fields left out).
 */
export function linkMac(signer: Signer, prevMac: string, entry: AuditEntry): string {
  return signer.mac('audit', linkText(prevMac, entry));
}

function linkText(prevMac: string, entry: AuditEntry): string {
  return `link\n${prevMac}\n${canonicalJson(entry)}`;
}

/** Checks one stored entry against the previous MAC; returns its record, or why it is broken. */
export function checkLink(
  signer: Signer,
  seq: string,
  fields: Record<string, string>,
  prevMac: string,
): AuditRecord | string {
  const parsed = AuditRecord.safeParse({ ...fields, seq });
  if (!parsed.success) {
    return 'hash' in fields && !('mac' in fields)
      ? 'the entry is in the old unkeyed hash format (written before HMAC chaining, or forged)'
      : 'the entry is malformed';
  }
  const { seq: _seq, prevMac: storedPrev, mac, ...entry } = parsed.data;
  if (storedPrev !== prevMac)
    return 'the entry does not link to the previous one (an entry was removed or inserted)';
  if (!verifyMac(signer, 'audit', linkText(storedPrev, entry), mac)) {
    return 'the entry does not match its MAC (it was changed, or made with another secret)';
  }
  return parsed.data;
}

/**
 * How far the chain was verified: the last entry found intact, its MAC and how many entries the
 * log held up to it. Stored in Redis with a MAC, so it cannot be forged to skip a tampered part.
 */
export const AuditCheckpoint = z.strictObject({
  /** The stream the checkpoint belongs to (a copy from another prefix is refused). */
  stream: z.string(),
  seq: z.string(),
  mac: MacHex,
  count: z.number().int().positive(),
  /** When the verification ran. */
  at: z.iso.datetime(),
});
export type AuditCheckpoint = z.infer<typeof AuditCheckpoint>;

const StoredCheckpoint = AuditCheckpoint.extend({ sig: z.string() });

/** The checkpoint as stored: its JSON with a MAC over `checkpoint\n<canonical JSON>`. */
export function sealCheckpoint(signer: Signer, checkpoint: AuditCheckpoint): string {
  return JSON.stringify({
    ...checkpoint,
    sig: signer.mac('audit', `checkpoint\n${canonicalJson(checkpoint)}`),
  });
}

/** The stored checkpoint if it is well formed, MACed with this secret and for `stream`; else null. */
export function openCheckpoint(signer: Signer, stream: string, raw: string): AuditCheckpoint | null {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return null;
  }
  const parsed = StoredCheckpoint.safeParse(json);
  if (!parsed.success) return null;
  const { sig, ...checkpoint } = parsed.data;
  if (checkpoint.stream !== stream) return null;
  return verifyMac(signer, 'audit', `checkpoint\n${canonicalJson(checkpoint)}`, sig) ? checkpoint : null;
}

/** A flat stream entry (`[k1, v1, k2, v2, …]`) as an object. */
export function toObject(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string;
  return out;
}

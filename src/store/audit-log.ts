/**
 * The append-only audit log: who did what to which hub, in the Redis stream `<prefix>:audit`.
 * Entries are hash-chained (each stores the previous entry's hash), and the chain head is kept
 * at `<prefix>:audit:head`, so {@link AuditLog.verify} detects an entry that was edited, forged,
 * removed or truncated away. The log is never trimmed: trimming would break the chain.
 *
 * Never pass key material (private keys, client configs, sealed keys, tokens) in any field; an
 * obvious `PrivateKey = …` line is refused, but anything else is stored as given, forever.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { TunnelgateError } from '../core/errors.js';
import { HubName } from '../core/ids.js';

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

/** One audit entry, as hashed. */
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

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

/** An entry as stored: its place in the log and in the hash chain. */
export const AuditRecord = AuditEntry.extend({
  /** The stream id (`<ms>-<n>`), which orders the log. */
  seq: z.string(),
  prevHash: Sha256Hex,
  hash: Sha256Hex,
});
export type AuditRecord = z.infer<typeof AuditRecord>;

/** What {@link AuditLog.append} takes; `at` defaults to the clock. */
export type AuditInput = Omit<z.input<typeof AuditEntry>, 'at'> & { at?: string };

/** The outcome of {@link AuditLog.verify}. */
export interface AuditVerification {
  /** True when every entry chains to the one before and the head matches the last entry. */
  intact: boolean;
  /** Entries found intact (up to the break, if any). */
  checked: number;
  /** Stream id of the first entry that does not verify (the last one when the head disagrees). */
  brokenAt?: string;
  /** Why the chain is broken, for operators. */
  reason?: string;
}

/** The `prevHash` of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** A private key line in a wg-quick config; such text must never reach the audit log. */
const PRIVATE_KEY_LINE = /PrivateKey\s*=/i;
const MAX_APPEND_ATTEMPTS = 100;
const PAGE = 500;

/**
 * Adds one entry if the head is still ARGV[1] (the hash the client chained to), then moves the
 * head to ARGV[2]. Returns {1, id} on success, {0, currentHead} when another append came first.
 * A missing head with a non-empty stream is refused ({2}): chaining to genesis would hide a gap.
 */
const APPEND = `local head = redis.call('GET', KEYS[2])
if not head then
  if redis.call('XLEN', KEYS[1]) > 0 then return {2, ''} end
  head = '${GENESIS_HASH}'
end
if head ~= ARGV[1] then return {0, head} end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
redis.call('SET', KEYS[2], ARGV[2])
return {1, id}`;

/**
 * `sha256(prevHash + '\n' + canonicalJson(entry))` in hex, where the canonical JSON has the
 * entry's keys sorted and absent fields left out. Verifiers outside Tunnelgate can recompute it.
 */
export function chainHash(prevHash: string, entry: AuditEntry): string {
  return createHash('sha256')
    .update(`${prevHash}\n${canonicalJson(entry)}`)
    .digest('hex');
}

function canonicalJson(entry: AuditEntry): string {
  const fields = Object.entries(entry)
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(Object.fromEntries(fields));
}

/**
 * The tamper-evident audit trail. Appends are atomic across processes (a script that adds the
 * entry only if the head is still the hash it chains to); within one process they are queued, so
 * only other processes ever compete for the head.
 */
export class AuditLog {
  readonly #stream: string;
  readonly #head: string;
  /** The last head this process saw; a first guess that saves a round trip per append. */
  #knownHead: string | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.#stream = `${prefix}:audit`;
    this.#head = `${prefix}:audit:head`;
  }

  /**
   * Appends an entry to the chain and returns it as stored. `at` defaults to the clock's now.
   * @throws TunnelgateError INPUT_INVALID when the entry does not match {@link AuditEntry} or a
   * field contains a `PrivateKey =` line; CONFLICT when other processes keep winning the head;
   * INTERNAL when the head is missing from a non-empty log.
   */
  async append(input: AuditInput): Promise<AuditRecord> {
    const entry = validate(input, this.now);
    const written = this.#queue.then(() => this.#write(entry));
    this.#queue = written.catch(() => undefined);
    return written;
  }

  async #write(entry: AuditEntry): Promise<AuditRecord> {
    const fields = Object.entries(entry).flatMap(([k, v]) => (v === undefined ? [] : [k, v]));
    let prevHash = this.#knownHead ?? (await this.redis.get(this.#head)) ?? GENESIS_HASH;
    for (let attempt = 1; attempt <= MAX_APPEND_ATTEMPTS; attempt++) {
      const hash = chainHash(prevHash, entry);
      const [status, value] = (await this.redis.eval(
        APPEND,
        2,
        this.#stream,
        this.#head,
        prevHash,
        hash,
        ...fields,
        'prevHash',
        prevHash,
        'hash',
        hash,
      )) as [number, string];
      if (status === 1) {
        this.#knownHead = hash;
        return { ...entry, seq: value, prevHash, hash };
      }
      if (status === 2) {
        this.#knownHead = undefined;
        throw new TunnelgateError(
          'INTERNAL',
          `audit log head ${this.#head} is missing; the log may be tampered`,
          {
            hint: 'verify the audit log and investigate before appending again',
          },
        );
      }
      prevHash = value;
      // Another process appended first: chain to its head after a short random pause.
      await sleep(Math.random() * Math.min(attempt, 20));
    }
    throw new TunnelgateError('CONFLICT', 'the audit log is too busy to append; try again');
  }

  /**
   * The newest `n` entries, oldest first (none when `n` is not a positive integer).
   * @throws TunnelgateError INTERNAL when a stored entry is malformed.
   */
  async tail(n: number): Promise<AuditRecord[]> {
    if (!Number.isInteger(n) || n <= 0) return [];
    const rows = await this.redis.xrevrange(this.#stream, '+', '-', 'COUNT', n);
    return rows.reverse().map(([id, flat]) => {
      const parsed = AuditRecord.safeParse({ ...toObject(flat), seq: id });
      if (!parsed.success) throw new TunnelgateError('INTERNAL', `audit entry ${id} is malformed`);
      return parsed.data;
    });
  }

  /**
   * Walks the whole stream, oldest first, checking each entry's shape, its link to the previous
   * entry and its hash, then that the head names the last entry. Safe while others append.
   * @throws TunnelgateError INTERNAL when Redis fails the final head read.
   */
  async verify(): Promise<AuditVerification> {
    let prevHash = GENESIS_HASH;
    let lastId = '0-0';
    let checked = 0;
    for (;;) {
      const page = await this.redis.xrange(this.#stream, `(${lastId}`, '+', 'COUNT', PAGE);
      for (const [id, flat] of page) {
        const broken = checkLink(id, toObject(flat), prevHash);
        if (typeof broken === 'string') return { intact: false, checked, brokenAt: id, reason: broken };
        prevHash = broken.hash;
        lastId = id;
        checked++;
      }
      if (page.length === PAGE) continue;
      // Read "anything newer?" and the head in one transaction, so a concurrent append cannot
      // make an intact chain look truncated.
      const results = await this.redis
        .multi()
        .xrange(this.#stream, `(${lastId}`, '+', 'COUNT', 1)
        .get(this.#head)
        .exec();
      const failed = results === null ? 'aborted' : results.find(([err]) => err !== null)?.[0]?.message;
      if (failed !== undefined) {
        throw new TunnelgateError('INTERNAL', `cannot read the audit log head: ${failed}`);
      }
      const newer = results?.[0]?.[1] as [string, string[]][];
      if (newer.length > 0) continue;
      const head = results?.[1]?.[1] as string | null;
      if ((head ?? GENESIS_HASH) === prevHash) return { intact: true, checked };
      return {
        intact: false,
        checked,
        brokenAt: lastId,
        reason: head === null ? 'the head is missing' : 'the head does not match the last entry',
      };
    }
  }
}

function validate(input: AuditInput, now: () => Date): AuditEntry {
  const parsed = AuditEntry.safeParse({ ...input, at: input.at ?? now().toISOString() });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || 'entry';
    throw new TunnelgateError(
      'INPUT_INVALID',
      `invalid audit entry (${where}): ${issue?.message ?? 'invalid'}`,
    );
  }
  for (const [field, value] of Object.entries(parsed.data)) {
    if (typeof value === 'string' && PRIVATE_KEY_LINE.test(value)) {
      throw new TunnelgateError('INPUT_INVALID', `audit ${field} must not contain key material`);
    }
  }
  return parsed.data;
}

/** Checks one stored entry against the previous hash; returns its record, or why it is broken. */
function checkLink(id: string, fields: Record<string, string>, prevHash: string): AuditRecord | string {
  const parsed = AuditRecord.safeParse({ ...fields, seq: id });
  if (!parsed.success) return 'the entry is malformed';
  const { seq: _seq, prevHash: storedPrev, hash, ...entry } = parsed.data;
  if (storedPrev !== prevHash) return 'the entry does not link to the previous one';
  if (chainHash(storedPrev, entry) !== hash) return 'the entry does not match its hash';
  return parsed.data;
}

function toObject(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string;
  return out;
}

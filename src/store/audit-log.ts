/**
 * The append-only audit log: who did what to which hub, in the Redis stream `keys.audit`. Entries
 * are chained by HMACs made with the deployment secret (see audit-chain.ts), and the chain head is
 * kept at `keys.auditHead`, so {@link AuditLog.verify} detects an entry that was edited, forged,
 * removed or truncated away, and names it. The log is never trimmed: trimming would break the chain.
 *
 * Never pass key material (private keys, client configs, sealed keys, tokens) in any field; an
 * obvious `PrivateKey = …` line is refused, but anything else is stored as given, forever.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { z } from 'zod';
import { TunnelgateError } from '../core/errors.js';
import type { Signer } from '../domain/signer.js';
import {
  type AuditCheckpoint,
  AuditEntry,
  AuditRecord,
  checkLink,
  GENESIS_MAC,
  linkMac,
  openCheckpoint,
  sealCheckpoint,
  toObject,
} from './audit-chain.js';
import type { RedisKeys } from './keys.js';

/** What {@link AuditLog.append} takes; `at` defaults to the clock. */
export type AuditInput = Omit<z.input<typeof AuditEntry>, 'at'> & { at?: string };

/** The link at which a chain stops verifying. */
export interface AuditBreak {
  /** Stream id of the entry that does not verify (the last one when the head disagrees). */
  seq: string;
  /** When that entry says it happened, when it says so. */
  at?: string;
  /** Why the chain is broken, for operators. */
  reason: string;
}

/** The outcome of {@link AuditLog.verify}. */
export interface AuditVerification {
  /** True when every entry chains to the one before and the head matches the last entry. */
  intact: boolean;
  /** Entries known intact: those up to the checkpoint, plus those verified now (up to a break). */
  checked: number;
  /** Entries read and verified by this call (the part after the checkpoint). */
  read: number;
  /** Whether verification started at a stored checkpoint, at the start, or refused a bad one. */
  checkpoint: 'used' | 'none' | 'refused';
  broken?: AuditBreak;
}

/** A private key line in a wg-quick config; such text must never reach the audit log. */
const PRIVATE_KEY_LINE = /PrivateKey\s*=/i;
const MAX_APPEND_ATTEMPTS = 100;
const PAGE = 500;

/**
 * Adds one entry if the head is still ARGV[1] (the MAC the client chained to), then moves the
 * head to ARGV[2]. Returns {1, id} on success, {0, currentHead} when another append came first.
 * A missing head with a non-empty stream is refused ({2}): chaining to genesis would hide a gap.
 */
const APPEND = `local head = redis.call('GET', KEYS[2])
if not head then
  if redis.call('XLEN', KEYS[1]) > 0 then return {2, ''} end
  head = '${GENESIS_MAC}'
end
if head ~= ARGV[1] then return {0, head} end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
redis.call('SET', KEYS[2], ARGV[2])
return {1, id}`;

/**
 * The tamper-evident audit trail. Appends are atomic across processes (a script that adds the
 * entry only if the head is still the MAC it chains to); within one process they are queued, so
 * only other processes ever compete for the head.
 */
export class AuditLog {
  readonly #stream: string;
  readonly #head: string;
  readonly #checkpoint: string;
  /** The last head this process saw; a first guess that saves a round trip per append. */
  #knownHead: string | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly redis: Redis,
    keys: Pick<RedisKeys, 'audit' | 'auditHead' | 'auditCheckpoint'>,
    private readonly signer: Signer,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.#stream = keys.audit;
    this.#head = keys.auditHead;
    this.#checkpoint = keys.auditCheckpoint;
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
    let prevMac = this.#knownHead ?? (await this.redis.get(this.#head)) ?? GENESIS_MAC;
    for (let attempt = 1; attempt <= MAX_APPEND_ATTEMPTS; attempt++) {
      const mac = linkMac(this.signer, prevMac, entry);
      const [status, value] = (await this.redis.eval(
        APPEND,
        2,
        this.#stream,
        this.#head,
        prevMac,
        mac,
        ...fields,
        'prevMac',
        prevMac,
        'mac',
        mac,
      )) as [number, string];
      if (status === 1) {
        this.#knownHead = mac;
        return { ...entry, seq: value, prevMac, mac };
      }
      if (status === 2) {
        this.#knownHead = undefined;
        throw new TunnelgateError(
          'INTERNAL',
          `audit log head ${this.#head} is missing; the log may be tampered`,
          { hint: 'verify the audit log and investigate before appending again' },
        );
      }
      prevMac = value;
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
   * Verifies the chain from the stored checkpoint on (from the start with `full`, or when there is
   * none or it does not verify): each entry's shape, its link to the previous entry and its MAC;
   * then that the head names the last entry and that the log holds exactly the entries counted,
   * so entries removed before the checkpoint are caught too. The entry at the checkpoint is checked
   * again; the others before it only by a full verification (the scheduled maintenance run does
   * one). An intact chain moves the checkpoint to its last entry; a break drops it, so every later
   * verification walks from the start and names the break again. Safe while others append.
   * @throws TunnelgateError INTERNAL when Redis fails the final head read.
   */
  async verify(options: { full?: boolean } = {}): Promise<AuditVerification> {
    const verdict = await this.#walk(options.full === true);
    if (!verdict.intact) await this.redis.del(this.#checkpoint);
    return verdict;
  }

  async #walk(full: boolean): Promise<AuditVerification> {
    const start = await this.#start(full);
    if ('broken' in start) return start.broken;
    let { prevMac, lastId, count } = start;
    let lastAt: string | undefined;
    let read = 0;
    const outcome = (broken?: AuditBreak): AuditVerification => ({
      intact: broken === undefined,
      checked: count,
      read,
      checkpoint: start.checkpoint,
      ...(broken === undefined ? {} : { broken }),
    });
    for (;;) {
      const page = await this.redis.xrange(this.#stream, `(${lastId}`, '+', 'COUNT', PAGE);
      for (const [id, flat] of page) {
        const fields = toObject(flat);
        const link = checkLink(this.signer, id, fields, prevMac);
        if (typeof link === 'string') return outcome(at(id, fields.at, link));
        prevMac = link.mac;
        lastId = id;
        lastAt = link.at;
        count++;
        read++;
      }
      if (page.length === PAGE) continue;
      // Read "anything newer?", the head and the length in one transaction, so a concurrent
      // append cannot make an intact chain look truncated.
      const results = await this.redis
        .multi()
        .xrange(this.#stream, `(${lastId}`, '+', 'COUNT', 1)
        .get(this.#head)
        .xlen(this.#stream)
        .exec();
      const failed = results === null ? 'aborted' : results.find(([err]) => err !== null)?.[0]?.message;
      if (failed !== undefined) {
        throw new TunnelgateError('INTERNAL', `cannot read the audit log head: ${failed}`);
      }
      const newer = results?.[0]?.[1] as [string, string[]][];
      if (newer.length > 0) continue;
      const head = results?.[1]?.[1] as string | null;
      const length = results?.[2]?.[1] as number;
      if ((head ?? GENESIS_MAC) !== prevMac) {
        const reason = head === null ? 'the head is missing' : 'the head does not match the last entry';
        return outcome(at(lastId, lastAt, reason));
      }
      if (length !== count) {
        const reason = `the log holds ${length} entries but ${count} chain to the head: entries verified earlier were removed or added`;
        return outcome(at(lastId, lastAt, reason));
      }
      if (count > 0) await this.#saveCheckpoint({ stream: this.#stream, seq: lastId, mac: prevMac, count });
      return outcome();
    }
  }

  /** Where verification starts: the checkpoint when it verifies and still matches its entry. */
  async #start(
    full: boolean,
  ): Promise<
    | { prevMac: string; lastId: string; count: number; checkpoint: AuditVerification['checkpoint'] }
    | { broken: AuditVerification }
  > {
    const genesis = { prevMac: GENESIS_MAC, lastId: '0-0', count: 0 };
    if (full) return { ...genesis, checkpoint: 'none' };
    const raw = await this.redis.get(this.#checkpoint);
    if (raw === null) return { ...genesis, checkpoint: 'none' };
    const checkpoint = openCheckpoint(this.signer, this.#stream, raw);
    if (checkpoint === null) return { ...genesis, checkpoint: 'refused' };
    const [row] = await this.redis.xrange(this.#stream, checkpoint.seq, checkpoint.seq);
    const fields = row === undefined ? undefined : toObject(row[1]);
    const link =
      fields === undefined ? null : checkLink(this.signer, checkpoint.seq, fields, fields.prevMac ?? '');
    const problem =
      link === null
        ? 'the entry verified last is missing: it was removed after it was verified'
        : typeof link === 'string'
          ? link
          : link.mac !== checkpoint.mac
            ? 'the entry verified last was replaced after it was verified'
            : null;
    if (problem === null)
      return { prevMac: checkpoint.mac, lastId: checkpoint.seq, count: checkpoint.count, checkpoint: 'used' };
    return {
      broken: {
        intact: false,
        checked: checkpoint.count - 1,
        read: 0,
        checkpoint: 'used',
        broken: at(checkpoint.seq, fields?.at, problem),
      },
    };
  }

  async #saveCheckpoint(position: Omit<AuditCheckpoint, 'at'>): Promise<void> {
    await this.redis.set(
      this.#checkpoint,
      sealCheckpoint(this.signer, { ...position, at: this.now().toISOString() }),
    );
  }
}

function at(seq: string, when: string | undefined, reason: string): AuditBreak {
  return when === undefined ? { seq, reason } : { seq, at: when, reason };
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

/**
 * JSON records in Redis (one key each), validated by their zod schema on every read and write,
 * and changed only by compare-and-set: the change is computed from what was read and written only
 * if nobody wrote in between, else read and computed again. WATCH is not used: it is per
 * connection, and one ioredis connection carries many concurrent operations.
 */
import type { Redis } from 'ioredis';
import type { z } from 'zod';
import { TunnelgateError } from '../core/errors.js';
import { COMPARE_AND_DELETE, COMPARE_AND_SET } from './scripts.js';

/** What a change does: write `next`, or leave the record as it is. */
export type Change<T> = { write: T } | { keep: true };

/** How a written record's TTL is set: kept as it was (default), renewed to seconds, or none. */
export type Ttl = 'keep' | number | 'none';

/** The outcome of {@link JsonRecords.update}. */
export type UpdateOutcome<T> =
  | { status: 'written'; value: T }
  | { status: 'kept'; value: T }
  | { status: 'missing' };

const MAX_ATTEMPTS = 50;

/** Reads and writes records of one schema. */
export class JsonRecords<S extends z.ZodType> {
  constructor(
    private readonly redis: Redis,
    private readonly schema: S,
    /** What the records are, for messages (`request`, `rotation`…). */
    private readonly what: string,
  ) {}

  /** The record at `key`, or null. Throws INTERNAL when it does not match the schema. */
  async get(key: string): Promise<z.infer<S> | null> {
    const raw = await this.redis.get(key);
    return raw === null ? null : this.parse(key, raw);
  }

  /** Stores a new record; false when `key` exists. */
  async create(key: string, value: z.input<S>, ttlSec?: number): Promise<boolean> {
    const json = JSON.stringify(this.schema.parse(value));
    const done =
      ttlSec === undefined
        ? await this.redis.set(key, json, 'NX')
        : await this.redis.set(key, json, 'EX', ttlSec, 'NX');
    return done === 'OK';
  }

  /**
   * Applies `change` atomically (compare-and-set, retried when another writer came first). The
   * change may throw to refuse; nothing is written then. Throws CONFLICT after too many
   * concurrent writes.
   */
  async update(
    key: string,
    change: (current: z.infer<S>) => Change<z.input<S>>,
    ttl: Ttl = 'keep',
  ): Promise<UpdateOutcome<z.infer<S>>> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const raw = await this.redis.get(key);
      if (raw === null) return { status: 'missing' };
      const current = this.parse(key, raw);
      const outcome = change(current);
      if ('keep' in outcome) return { status: 'kept', value: current };
      const next = this.schema.parse(outcome.write) as z.infer<S>;
      const ttlArg = ttl === 'keep' ? 'keep' : ttl === 'none' ? '' : String(ttl);
      const written = await this.redis.eval(COMPARE_AND_SET, 1, key, raw, JSON.stringify(next), ttlArg);
      if (written === 1) return { status: 'written', value: next };
    }
    throw new TunnelgateError('CONFLICT', `the ${this.what} is being changed by someone else; try again`);
  }

  /** Deletes the record if `still(current)` holds at the moment of deletion; true when deleted. */
  async deleteIf(key: string, still: (current: z.infer<S>) => boolean): Promise<boolean> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const raw = await this.redis.get(key);
      if (raw === null || !still(this.parse(key, raw))) return false;
      if ((await this.redis.eval(COMPARE_AND_DELETE, 1, key, raw)) === 1) return true;
    }
    throw new TunnelgateError('CONFLICT', `the ${this.what} is being changed by someone else; try again`);
  }

  private parse(key: string, raw: string): z.infer<S> {
    const parsed = this.schema.safeParse(JSON.parse(raw));
    if (!parsed.success) throw new TunnelgateError('INTERNAL', `stored ${this.what} ${key} is malformed`);
    return parsed.data;
  }
}

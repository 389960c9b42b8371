/**
 * Access requests in Redis. Updates are compare-and-set (a Lua script that writes only if the
 * record is still what was read), so two leads approving at the same moment in different
 * processes both count, and a state change is never lost. WATCH is not used: it is per
 * connection, and one ioredis connection carries many concurrent operations.
 */
import type { Redis } from 'ioredis';
import { TunnelgateError } from '../core/errors.js';
import { AccessRequest, prunable, type RequestState } from '../domain/models/request.js';
import type { RedisKeys } from './keys.js';
import { COMPARE_AND_SET } from './scripts.js';

/** The outcome of an update function: a new record, or an error that leaves Redis unchanged. */
export type UpdateResult<T> =
  | { ok: true; request: AccessRequest; value?: T }
  | { ok: false; error: TunnelgateError };

const MAX_CAS_RETRIES = 50;

/**
 * Removes a request, its sealed key and its index entries if the record still holds ARGV[1].
 * KEYS: request, requests, requestsBy, requestsFor, sealedKey; ARGV[2] = the id. Returns 1 or 0.
 */
const REMOVE = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[5])
for i = 2, 4 do redis.call('ZREM', KEYS[i], ARGV[2]) end
return 1`;

/** Requests read per round trip while pruning. */
const PRUNE_PAGE = 500;

export class RequestStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  /** Stores a new request. Throws CONFLICT when the id is taken. */
  async create(request: AccessRequest): Promise<void> {
    const record = AccessRequest.parse(request);
    const done = await this.redis.set(this.keys.request(record.id), JSON.stringify(record), 'NX');
    if (done !== 'OK') throw new TunnelgateError('CONFLICT', `request id ${record.id} is already taken`);
    const score = String(Date.parse(record.createdAt));
    await this.redis
      .multi()
      .zadd(this.keys.requests, score, record.id)
      .zadd(this.keys.requestsBy(record.requester), score, record.id)
      .zadd(this.keys.requestsFor(record.peer), score, record.id)
      .exec();
  }

  /** The request, or null when there is none with that id. */
  async find(id: string): Promise<AccessRequest | null> {
    const raw = await this.redis.get(this.keys.request(id));
    return raw === null ? null : AccessRequest.parse(JSON.parse(raw));
  }

  /** The request; throws NOT_FOUND with a hint when there is none. */
  async get(id: string): Promise<AccessRequest> {
    const found = await this.find(id);
    if (found === null) {
      throw new TunnelgateError('NOT_FOUND', `there is no request ${id}`, {
        hint: 'see pending requests with /vpn list pending',
      });
    }
    return found;
  }

  /**
   * Applies `change` atomically: reads the request, computes the new record, and writes it only if
   * nobody else wrote in between (retrying otherwise). An `ok: false` result writes nothing.
   */
  async update<T>(id: string, change: (current: AccessRequest) => UpdateResult<T>): Promise<UpdateResult<T>> {
    const key = this.keys.request(id);
    for (let attempt = 0; attempt < MAX_CAS_RETRIES; attempt++) {
      const raw = await this.redis.get(key);
      if (raw === null) {
        return { ok: false, error: new TunnelgateError('NOT_FOUND', `there is no request ${id}`) };
      }
      const result = change(AccessRequest.parse(JSON.parse(raw)));
      if (!result.ok) return result;
      const next = JSON.stringify(AccessRequest.parse(result.request));
      const written = await this.redis.eval(COMPARE_AND_SET, 1, key, raw, next, '');
      if (written === 1) return result;
    }
    throw new TunnelgateError('CONFLICT', `request ${id} is being changed by someone else; try again`);
  }

  /**
   * Removes every request that {@link prunable} says finished before `cutoff` (and that `keep`
   * does not hold on to), together with its sealed key and index entries. A request changed
   * meanwhile is kept. Only requests created before `cutoff` are read. Returns the removed ones.
   */
  async prune(cutoff: Date, keep: (request: AccessRequest) => Promise<boolean>): Promise<AccessRequest[]> {
    const ids = await this.redis.zrangebyscore(this.keys.requests, '-inf', `(${cutoff.getTime()}`);
    const removed: AccessRequest[] = [];
    for (let i = 0; i < ids.length; i += PRUNE_PAGE) {
      const page = ids.slice(i, i + PRUNE_PAGE);
      const raws = await this.redis.mget(page.map((id) => this.keys.request(id)));
      for (const raw of raws) {
        if (raw === null) continue;
        const request = AccessRequest.parse(JSON.parse(raw));
        if (!prunable(request, cutoff) || (await keep(request))) continue;
        const done = await this.redis.eval(
          REMOVE,
          5,
          this.keys.request(request.id),
          this.keys.requests,
          this.keys.requestsBy(request.requester),
          this.keys.requestsFor(request.peer),
          this.keys.sealedKey(request.id),
          raw,
          request.id,
        );
        if (done === 1) removed.push(request);
      }
    }
    return removed;
  }

  /** All requests, oldest first, optionally filtered (by requester or peer name via their index). */
  async list(
    filter: { states?: readonly RequestState[]; requester?: string; peer?: string } = {},
  ): Promise<AccessRequest[]> {
    const index =
      filter.requester !== undefined
        ? this.keys.requestsBy(filter.requester)
        : filter.peer !== undefined
          ? this.keys.requestsFor(filter.peer)
          : this.keys.requests;
    const ids = await this.redis.zrange(index, '0', '-1');
    if (ids.length === 0) return [];
    const raws = await this.redis.mget(ids.map((id) => this.keys.request(id)));
    const all = raws.flatMap((raw) => (raw === null ? [] : [AccessRequest.parse(JSON.parse(raw))]));
    return all.filter(
      (r) =>
        (filter.states === undefined || filter.states.includes(r.state)) &&
        (filter.requester === undefined || r.requester === filter.requester) &&
        (filter.peer === undefined || r.peer === filter.peer),
    );
  }
}

/**
 * Access requests in Redis. Updates are compare-and-set (a Lua script that writes only if the
 * record is still what was read), so two leads approving at the same moment in different
 * processes both count, and a state change is never lost. WATCH is not used: it is per
 * connection, and one ioredis connection carries many concurrent operations.
 */
import type { Redis } from 'ioredis';
import { TunnelgateError } from '../core/errors.js';
import { AccessRequest, type RequestState } from '../domain/models/request.js';
import type { RedisKeys } from './keys.js';
import { COMPARE_AND_SET } from './scripts.js';

/** The outcome of an update function: a new record, or an error that leaves Redis unchanged. */
export type UpdateResult<T> =
  | { ok: true; request: AccessRequest; value?: T }
  | { ok: false; error: TunnelgateError };

const MAX_CAS_RETRIES = 50;

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

/**
 * Active break-glass grants in Redis: a hash of grants by request id (what the incident webhook
 * and the poll end), each user's one active grant, and the times of each user's grants (for
 * `policy.breakGlass.perWeek`). Also the offboarded users, who never get break-glass access.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { RedisKeys } from './keys.js';

/** One active grant. */
export const Grant = z.object({
  requestId: z.string(),
  user: z.string(),
  hub: z.string(),
  peer: z.string(),
  provider: z.enum(['pagerduty', 'opsgenie']),
  incidentId: z.string(),
  from: z.string(),
  until: z.string(),
});
export type Grant = z.infer<typeof Grant>;

const WEEK_MS = 7 * 86_400_000;

export class BreakGlassStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  /** The request id of `user`'s active grant, or null. */
  activeOf(user: string): Promise<string | null> {
    return this.redis.get(this.keys.breakGlass.active(user));
  }

  /** How many grants `user` got in the 7 days before `now`. */
  async countThisWeek(user: string, now: Date): Promise<number> {
    const key = this.keys.breakGlass.week(user);
    await this.redis.zremrangebyscore(key, '-inf', now.getTime() - WEEK_MS);
    return this.redis.zcard(key);
  }

  /** Records a new grant as active and counted. */
  async record(grant: Grant): Promise<void> {
    const at = Date.parse(grant.from);
    const week = this.keys.breakGlass.week(grant.user);
    await this.redis
      .multi()
      .set(this.keys.breakGlass.active(grant.user), grant.requestId)
      .hset(this.keys.breakGlass.grants, grant.requestId, JSON.stringify(Grant.parse(grant)))
      .zadd(week, at, grant.requestId)
      .pexpire(week, WEEK_MS)
      .exec();
  }

  /** Every active grant (a stored value that does not parse is skipped). */
  async all(): Promise<Grant[]> {
    const values = Object.values(await this.redis.hgetall(this.keys.breakGlass.grants));
    return values.flatMap((text) => {
      const parsed = Grant.safeParse(JSON.parse(text));
      return parsed.success ? [parsed.data] : [];
    });
  }

  /** The active grants for one incident. */
  async forIncident(provider: string, incidentId: string): Promise<Grant[]> {
    return (await this.all()).filter((g) => g.provider === provider && g.incidentId === incidentId);
  }

  /** Ends a grant; returns it when it was still active (the first caller to end it). */
  async end(requestId: string): Promise<Grant | null> {
    const text = await this.redis.hget(this.keys.breakGlass.grants, requestId);
    if (text === null || (await this.redis.hdel(this.keys.breakGlass.grants, requestId)) === 0) return null;
    const grant = Grant.parse(JSON.parse(text));
    const active = this.keys.breakGlass.active(grant.user);
    if ((await this.redis.get(active)) === requestId) await this.redis.del(active);
    return grant;
  }

  /** Marks a webhook event seen; false when it was seen before (a replay). */
  async firstSight(provider: string, eventId: string, ttlSec: number): Promise<boolean> {
    const key = this.keys.webhookEvent(provider, eventId);
    return (await this.redis.set(key, '1', 'EX', ttlSec, 'NX')) === 'OK';
  }

  /** Remembers that the leads offboarded `user`. */
  async markOffboarded(user: string): Promise<void> {
    await this.redis.sadd(this.keys.offboarded, user);
  }

  isOffboarded(user: string): Promise<boolean> {
    return this.redis.sismember(this.keys.offboarded, user).then((n) => n === 1);
  }
}

import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BreakGlassStore, type Grant } from '../../../src/store/break-glass.js';
import { redisKeys } from '../../../src/store/keys.js';
import { type FreshPrefix, freshPrefix, redisUrl } from '../../support/redis.js';

const DAY = 86_400_000;

function grant(requestId: string, user: string, from: Date, incidentId = 'PINC1'): Grant {
  return {
    requestId,
    user,
    hub: 'hub1',
    peer: `${user}-breakglass`,
    provider: 'pagerduty',
    incidentId,
    from: from.toISOString(),
    until: new Date(from.getTime() + 4 * 3_600_000).toISOString(),
  };
}

describe('BreakGlassStore on real Redis', () => {
  let fresh: FreshPrefix;
  let redis: Redis;
  let store: BreakGlassStore;

  beforeEach(() => {
    fresh = freshPrefix('break-glass-store');
    redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
    store = new BreakGlassStore(redis, redisKeys(fresh.prefix));
  });
  afterEach(async () => {
    await redis.quit();
    await fresh.cleanup();
  });

  it('records a grant as the user’s one active grant and finds it by incident', async () => {
    const now = new Date('2026-12-01T10:00:00Z');
    await store.record(grant('r-1', 'carol', now));
    await store.record(grant('r-2', 'dave', now, 'PINC2'));
    expect(await store.activeOf('carol')).toBe('r-1');
    expect(await store.activeOf('erin')).toBeNull();
    expect((await store.forIncident('pagerduty', 'PINC1')).map((g) => g.requestId)).toEqual(['r-1']);
    expect(await store.forIncident('opsgenie', 'PINC1')).toEqual([]);
  });

  it('ends a grant once: the second caller gets null and the active slot is freed', async () => {
    await store.record(grant('r-1', 'carol', new Date('2026-12-01T10:00:00Z')));
    const [first, second] = await Promise.all([store.end('r-1'), store.end('r-1')]);
    expect([first?.requestId ?? null, second?.requestId ?? null].sort()).toEqual(['r-1', null].sort());
    expect(await store.activeOf('carol')).toBeNull();
    expect(await store.all()).toEqual([]);
  });

  it('keeps a newer grant active when an older one of the same user ends', async () => {
    const now = new Date('2026-12-01T10:00:00Z');
    await store.record(grant('r-1', 'carol', now));
    await store.record(grant('r-2', 'carol', new Date(now.getTime() + 1000)));
    await store.end('r-1');
    expect(await store.activeOf('carol')).toBe('r-2');
  });

  it('counts only the grants of the last seven days toward the weekly cap', async () => {
    const now = new Date('2026-12-10T10:00:00Z');
    await store.record(grant('r-old', 'carol', new Date(now.getTime() - 8 * DAY)));
    await store.record(grant('r-a', 'carol', new Date(now.getTime() - 6 * DAY)));
    await store.record(grant('r-b', 'carol', new Date(now.getTime() - DAY)));
    await store.record(grant('r-d', 'dave', now));
    expect(await store.countThisWeek('carol', now)).toBe(2);
    expect(await store.countThisWeek('dave', now)).toBe(1);
    expect(await store.countThisWeek('erin', now)).toBe(0);
  });

  it('skips a stored grant that does not parse instead of failing every reader', async () => {
    await store.record(grant('r-1', 'carol', new Date('2026-12-01T10:00:00Z')));
    await redis.hset(redisKeys(fresh.prefix).breakGlass.grants, 'r-bad', JSON.stringify({ user: 1 }));
    expect((await store.all()).map((g) => g.requestId)).toEqual(['r-1']);
  });

  it('sees a webhook event only once within its window (replays are refused)', async () => {
    expect(await store.firstSight('pagerduty', 'evt-1', 60)).toBe(true);
    expect(await store.firstSight('pagerduty', 'evt-1', 60)).toBe(false);
    expect(await store.firstSight('opsgenie', 'evt-1', 60)).toBe(true);
    const ttl = await redis.ttl(redisKeys(fresh.prefix).webhookEvent('pagerduty', 'evt-1'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);
  });

  it('remembers offboarded users', async () => {
    expect(await store.isOffboarded('carol')).toBe(false);
    await store.markOffboarded('carol');
    expect(await store.isOffboarded('carol')).toBe(true);
    expect(await store.isOffboarded('dave')).toBe(false);
  });
});

import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TunnelgateError } from '../../../src/core/errors.js';
import { ReviewId, UserId } from '../../../src/core/ids.js';
import { PeerRecord } from '../../../src/domain/models/peer.js';
import { InventoryStore } from '../../../src/store/inventory.js';
import { type RedisKeys, redisKeys } from '../../../src/store/keys.js';
import { ReviewStore } from '../../../src/store/reviews.js';
import { type FreshPrefix, freshPrefix, redisUrl } from '../../support/redis.js';

const NOW = new Date('2026-12-04T10:00:00.000Z');
const DAY = 86_400_000;
const KEYS = [
  'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=',
  'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=',
  'gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdO4AdSGw=',
];

function peer(owner: string, n: number): PeerRecord {
  return PeerRecord.parse({
    peer: `${owner}-laptop`,
    owner,
    device: 'laptop',
    hub: 'hub1',
    publicKey: KEYS[n],
    address: `10.6.0.${n + 2}/32`,
    mode: 'split',
    requestId: `r-aaaaa${n}`,
    createdAt: '2026-11-01T10:00:00.000Z',
    expiresAt: null,
  });
}

describe('ReviewStore on real Redis', () => {
  let fresh: FreshPrefix;
  let redis: Redis;
  let keys: RedisKeys;
  let inventory: InventoryStore;
  let store: ReviewStore;
  const start = (id: string, now = NOW) => ({
    id: ReviewId.parse(id),
    startedBy: 'alice',
    now,
    dueMs: 7 * DAY,
    hubs: ['hub1'],
  });

  beforeEach(async () => {
    fresh = freshPrefix('reviews');
    redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
    keys = redisKeys(fresh.prefix);
    inventory = new InventoryStore(redis, keys);
    store = new ReviewStore(redis, keys);
    for (const [n, owner] of ['carol', 'dave', 'erin'].entries()) await inventory.put(peer(owner, n));
  });
  afterEach(async () => {
    await redis.quit();
    await fresh.cleanup();
  });

  it('snapshots every peer of the hubs, and leaves departed owners’ peers to the leads', async () => {
    await store.markDeparted('erin');
    const review = await store.start(inventory, start('v-aaaaa1'));
    expect(review.items.map((i) => [i.peer, i.reviewer])).toEqual([
      ['carol-laptop', 'owner'],
      ['dave-laptop', 'owner'],
      ['erin-laptop', 'leads'],
    ]);
    expect((await store.open())?.id).toBe('v-aaaaa1');
    expect((await store.find('v-aaaaa1'))?.items).toHaveLength(3);
  });

  it('opens one review when two starts race, and refuses the other clearly', async () => {
    const results = await Promise.allSettled([
      store.start(inventory, start('v-aaaaa1')),
      new ReviewStore(redis, keys).start(inventory, start('v-aaaaa2')),
    ]);
    const opened = results.filter((r) => r.status === 'fulfilled');
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as TunnelgateError] : []));
    expect(opened).toHaveLength(1);
    expect(refused.map((e) => e.code)).toEqual(['CONFLICT']);
    expect(refused[0]?.message).toMatch(/still open/);
    expect(
      await redis.exists(keys.review(refused[0]?.message.includes('v-aaaaa1') ? 'v-aaaaa2' : 'v-aaaaa1')),
    ).toBe(0);
  });

  it('writes an answer only while the review is open', async () => {
    await store.start(inventory, start('v-aaaaa1'));
    const keep = { verdict: 'keep' as const, by: UserId.parse('carol'), byRoles: [], at: NOW.toISOString() };
    const kept = await store.updateItem(
      'v-aaaaa1',
      'carol-laptop',
      (item) => ({ ...item, decision: keep, outcome: 'kept', outcomeAt: NOW.toISOString() }),
      true,
    );
    expect(kept.outcome).toBe('kept');
    await store.updateHeader('v-aaaaa1', (h) => ({
      write: { ...h, state: 'closed' as const, closedAt: NOW.toISOString() },
    }));
    expect(await store.open()).toBeNull();
    let runs = 0;
    const late = await store.updateItem(
      'v-aaaaa1',
      'dave-laptop',
      (item, header) => {
        runs++;
        return header.state === 'open' ? { ...item, outcome: 'kept' } : null;
      },
      true,
    );
    expect(late.outcome).toBeNull();
    expect(runs).toBe(1);
  });

  it('lets a new review start once the last one closed, and names the latest', async () => {
    await store.start(inventory, start('v-aaaaa1'));
    await store.updateHeader('v-aaaaa1', (h) => ({
      write: { ...h, state: 'closed' as const, closedAt: NOW.toISOString() },
    }));
    await store.start(inventory, start('v-aaaaa2', new Date(NOW.getTime() + DAY)));
    expect((await store.latest())?.id).toBe('v-aaaaa2');
    expect((await store.open())?.id).toBe('v-aaaaa2');
  });

  it('marks a queued revocation as done or failed, and leaves other outcomes alone', async () => {
    await store.start(inventory, start('v-aaaaa1'));
    await store.updateItem('v-aaaaa1', 'carol-laptop', (i) => ({ ...i, outcome: 'revoke-queued' }));
    await store.updateItem('v-aaaaa1', 'dave-laptop', (i) => ({ ...i, outcome: 'revoke-queued' }));
    await store.markRemoved('v-aaaaa1', 'carol-laptop', NOW);
    await store.markRemoved('v-aaaaa1', 'dave-laptop', NOW, true);
    await store.markRemoved('v-aaaaa1', 'erin-laptop', NOW);
    const items = (await store.find('v-aaaaa1'))?.items ?? [];
    expect(items.map((i) => i.outcome)).toEqual(['revoked', 'revoke-failed', null]);
  });

  it('names an unknown review or a peer not under review', async () => {
    await store.start(inventory, start('v-aaaaa1'));
    await expect(store.updateItem('v-zzzzz9', 'carol-laptop', () => null)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(store.updateItem('v-aaaaa1', 'zoe-phone', () => null)).rejects.toThrow(
      /zoe-phone is not in review/,
    );
  });
});

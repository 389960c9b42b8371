import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../../../src/store/keys.js';
import { RotationRecord, RotationStore } from '../../../src/store/rotations.js';
import { type FreshPrefix, freshPrefix, redisUrl } from '../../support/redis.js';

const OLD = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';
const NEW = 'bgBIkuW3YKspXl4HU7ivZd/gi7Fkpuwxc74ZpcJjhwU=';
const OTHER = 'hudYh025psM32o4cY1667vqrNVmorW2BLXC4bbLwLRg=';

function rotation(peer: string, newPublicKey = NEW): RotationRecord {
  return RotationRecord.parse({
    hub: 'hub1',
    peer,
    owner: 'bob',
    requestId: 'r-aaaaaa',
    by: 'bob',
    byRoles: [],
    oldPublicKey: OLD,
    newPublicKey,
    generatedKey: true,
    address: '10.66.1.2/32',
    mode: 'split',
    state: 'staging',
    createdAt: '2025-05-01T09:00:00.000Z',
  });
}

describe('RotationStore on real Redis', () => {
  let redis: Redis;
  let fresh: FreshPrefix;
  let store: RotationStore;

  beforeAll(async () => {
    redis = new Redis(redisUrl());
    fresh = freshPrefix('rotation-store');
    store = new RotationStore(redis, redisKeys(fresh.prefix));
  });
  afterAll(async () => {
    await fresh.cleanup();
    redis.disconnect();
  });

  it('keeps one rotation per peer: a second one is refused while the first runs', async () => {
    expect(await store.create(rotation('bob-laptop'))).toBe(true);
    expect(await store.create(rotation('bob-laptop', OTHER))).toBe(false);
    expect((await store.find('hub1', 'bob-laptop'))?.newPublicKey).toBe(NEW);
    expect(await redis.exists(redisKeys(fresh.prefix).rotation('hub1', 'bob-laptop'))).toBe(1);
  });

  it('loses no step when two workers advance the same rotation at once', async () => {
    await store.create(rotation('bob-phone'));
    const [a, b] = await Promise.all([
      store.update('hub1', 'bob-phone', (r) => ({ ...r, state: 'staged', hubPublicKey: OTHER })),
      store.update('hub1', 'bob-phone', (r) => ({ ...r, deadline: '2025-05-01T10:00:00.000Z' })),
    ]);
    expect(a?.state).toBe('staged');
    expect(b?.deadline).toBe('2025-05-01T10:00:00.000Z');
    const stored = await store.find('hub1', 'bob-phone');
    expect(stored).toMatchObject({
      state: 'staged',
      hubPublicKey: OTHER,
      deadline: '2025-05-01T10:00:00.000Z',
    });
  });

  it('finishes only the rotation of the same new key, so a newer one is never ended by a stale worker', async () => {
    await store.create(rotation('bob-desk'));
    await store.finish('hub1', 'bob-desk', OTHER);
    expect(await store.find('hub1', 'bob-desk')).not.toBeNull();
    await store.finish('hub1', 'bob-desk', NEW);
    expect(await store.find('hub1', 'bob-desk')).toBeNull();
    expect(await store.update('hub1', 'bob-desk', (r) => r)).toBeNull();
  });
});

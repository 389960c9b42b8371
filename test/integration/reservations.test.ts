import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InventoryStore } from '../../src/store/inventory.js';
import { type RedisKeys, redisKeys } from '../../src/store/keys.js';
import { release, releaseHolder, reserve, reservedOn } from '../../src/store/reservations.js';
import { type FreshPrefix, freshPrefix, redisUrl } from '../support/redis.js';

const FOREIGN = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';
const OTHER = 'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=';
const MINE = 'gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdO4AdSGw=';
const MINE2 = 'YCrFDAy9+BGrbnPFoYsKgrqQfhtPmDVNtJ+jJkw7p0g=';

describe('address reservations', () => {
  let fresh: FreshPrefix;
  let redis: Redis;
  let keys: RedisKeys;
  let inventory: InventoryStore;

  beforeEach(() => {
    fresh = freshPrefix('reservations');
    redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
    keys = redisKeys(fresh.prefix);
    inventory = new InventoryStore(redis, keys);
  });
  afterEach(async () => {
    await redis.quit();
    await fresh.cleanup();
  });

  it('keeps reservations normalised per hub and lists them with their holders', async () => {
    await reserve(redis, keys, 'hub1', '10.6.0.2', FOREIGN);
    await reserve(redis, keys, 'hub1', '192.168.50.7/24', FOREIGN);
    await reserve(redis, keys, 'hub1', 'FD00:6::0002/128', OTHER);
    await reserve(redis, keys, 'hub2', '10.6.0.9/32', OTHER);
    expect(await reservedOn(redis, keys, 'hub1')).toEqual([
      { cidr: '10.6.0.2/32', holder: FOREIGN },
      { cidr: '192.168.50.0/24', holder: FOREIGN },
      { cidr: 'fd00:6::2/128', holder: OTHER },
    ]);
    expect(await reservedOn(redis, keys, 'hub2')).toEqual([{ cidr: '10.6.0.9/32', holder: OTHER }]);
  });

  it('never offers a reserved address, nor one inside a reserved block', async () => {
    await reserve(redis, keys, 'hub1', '10.6.0.2/32', FOREIGN);
    await reserve(redis, keys, 'hub1', '10.6.0.4/31', OTHER);
    expect(await inventory.peekAddress('hub1', '10.6.0.0/24', '10.6.0.1')).toBe('10.6.0.3/32');
    expect(await inventory.claimAddress('hub1', '10.6.0.0/24', '10.6.0.1', MINE)).toBe('10.6.0.3/32');
    expect(await inventory.claimAddress('hub1', '10.6.0.0/24', '10.6.0.1', MINE2)).toBe('10.6.0.6/32');
    await reserve(redis, keys, 'hub1', 'fd00:6::2', FOREIGN);
    expect(await inventory.claimAddress('hub1', 'fd00:6::/64', 'fd00:6::1', MINE)).toBe('fd00:6::3/128');
  });

  it('offers an address again once its reservation is released', async () => {
    await reserve(redis, keys, 'hub1', '10.6.0.2/32', FOREIGN);
    await reserve(redis, keys, 'hub1', '192.168.50.0/24', FOREIGN);
    expect(await inventory.claimAddress('hub1', '10.6.0.0/24', '10.6.0.1', MINE)).toBe('10.6.0.3/32');
    expect(await release(redis, keys, 'hub1', '10.6.0.2')).toBe(true);
    expect(await release(redis, keys, 'hub1', '10.6.0.2')).toBe(false);
    expect(await inventory.claimAddress('hub1', '10.6.0.0/24', '10.6.0.1', MINE2)).toBe('10.6.0.2/32');
    expect(await releaseHolder(redis, keys, 'hub1', FOREIGN)).toEqual(['192.168.50.0/24']);
    expect(await reservedOn(redis, keys, 'hub1')).toEqual([]);
  });

  it('refuses to reserve something that is not an address or block', async () => {
    await expect(reserve(redis, keys, 'hub1', '10.6.0.300', FOREIGN)).rejects.toMatchObject({
      code: 'INPUT_INVALID',
    });
    expect(await reservedOn(redis, keys, 'hub1')).toEqual([]);
  });
});

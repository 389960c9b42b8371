import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PeerRecord } from '../../src/domain/models/peer.js';
import { InventoryStore } from '../../src/store/inventory.js';
import { type RedisKeys, redisKeys } from '../../src/store/keys.js';
import { type FreshPrefix, freshPrefix, redisUrl } from '../support/redis.js';

const KEY_A = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';
const KEY_B = 'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=';
const KEY_C = 'gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdO4AdSGw=';
const KEY_A2 = 'YCrFDAy9+BGrbnPFoYsKgrqQfhtPmDVNtJ+jJkw7p0g=';

type PeerInput = { [K in keyof PeerRecord]?: string | null };

/** A valid record for bob's laptop on hub1, with `over` changed. */
function peer(over: PeerInput & { publicKey: string }): PeerRecord {
  return PeerRecord.parse({
    peer: 'bob-laptop',
    owner: 'bob',
    device: 'laptop',
    hub: 'hub1',
    address: '10.66.1.2/32',
    mode: 'split',
    requestId: 'r-aaaaaa',
    createdAt: '2026-11-24T10:00:00.000Z',
    expiresAt: null,
    ...over,
  });
}

describe('the inventory index', () => {
  let fresh: FreshPrefix;
  let redis: Redis;
  let keys: RedisKeys;
  let inventory: InventoryStore;
  const hubs = ['hub1', 'hub2'];

  beforeEach(() => {
    fresh = freshPrefix('inventory-index');
    redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
    keys = redisKeys(fresh.prefix);
    inventory = new InventoryStore(redis, keys);
  });
  afterEach(async () => {
    await redis.quit();
    await fresh.cleanup();
  });

  const bobLaptop = peer({ publicKey: KEY_A });
  const bobPhone = peer({
    publicKey: KEY_B,
    peer: 'bob-phone',
    device: 'phone',
    hub: 'hub2',
    requestId: 'r-bbbbbb',
  });
  const carolDesk = peer({
    publicKey: KEY_C,
    peer: 'carol-desk',
    owner: 'carol',
    device: 'desk',
    address: '10.66.1.3/32',
    requestId: 'r-cccccc',
  });

  it('finds peers by name, request and owner across hubs', async () => {
    for (const record of [bobLaptop, bobPhone, carolDesk]) await inventory.put(record);
    // Written from empty, so complete from the start: no lookup has to build it.
    expect(await redis.hget(keys.inventoryIndex('hub2'), '#built')).toBe('1');
    expect(await inventory.findByName(hubs, 'bob-phone')).toEqual(bobPhone);
    expect(await inventory.findByName(hubs, 'dave-phone')).toBeNull();
    expect(await inventory.findByRequest('hub1', 'r-cccccc')).toEqual(carolDesk);
    expect(await inventory.findByRequest('hub2', 'r-cccccc')).toBeNull();
    const bobs = await inventory.listByOwner(hubs, 'bob');
    expect(bobs.map((r) => r.peer).sort()).toEqual(['bob-laptop', 'bob-phone']);
    expect(await inventory.listByOwner(hubs, 'dave')).toEqual([]);
  });

  it('follows a rotation to the new key and forgets removed peers', async () => {
    for (const record of [bobLaptop, carolDesk]) await inventory.put(record);
    const rotated = peer({ publicKey: KEY_A2 });
    await inventory.replaceKey('hub1', KEY_A, rotated);
    expect(await inventory.findByName(hubs, 'bob-laptop')).toEqual(rotated);
    expect(await inventory.findByRequest('hub1', 'r-aaaaaa')).toEqual(rotated);
    expect((await inventory.listByOwner(hubs, 'bob')).map((r) => r.publicKey)).toEqual([KEY_A2]);

    await inventory.remove('hub1', KEY_A2);
    expect(await inventory.findByName(hubs, 'bob-laptop')).toBeNull();
    expect(await inventory.findByRequest('hub1', 'r-aaaaaa')).toBeNull();
    expect(await inventory.listByOwner(hubs, 'bob')).toEqual([]);
    expect(await inventory.findByName(hubs, 'carol-desk')).toEqual(carolDesk);
    // Nothing is left indexed for the removed peer.
    expect(Object.keys(await redis.hgetall(keys.inventoryIndex('hub1'))).sort()).toEqual([
      '#built',
      'n:carol-desk',
      'o:carol',
      'r:r-cccccc',
    ]);
  });

  it('moves the owner entry when a record under the same key changes owner', async () => {
    await inventory.put(bobLaptop);
    await inventory.put(peer({ publicKey: KEY_A, owner: 'carol', peer: 'carol-laptop' }));
    expect(await inventory.listByOwner(hubs, 'bob')).toEqual([]);
    expect((await inventory.listByOwner(hubs, 'carol')).map((r) => r.peer)).toEqual(['carol-laptop']);
    expect(await inventory.findByName(hubs, 'bob-laptop')).toBeNull();
  });

  it('indexes records written without an index (an older Tunnelgate, or a lost index) on first lookup', async () => {
    for (const record of [bobLaptop, carolDesk]) {
      await redis.hset(keys.inventory(record.hub), record.publicKey, JSON.stringify(record));
    }
    expect(await redis.exists(keys.inventoryIndex('hub1'))).toBe(0);
    expect(await inventory.findByName(hubs, 'carol-desk')).toEqual(carolDesk);
    expect(await inventory.findByRequest('hub1', 'r-aaaaaa')).toEqual(bobLaptop);

    // A record written after the index was lost is indexed at once, the rest at the next lookup.
    await redis.del(keys.inventoryIndex('hub1'));
    const bobDesk = peer({
      publicKey: KEY_B,
      peer: 'bob-desk',
      device: 'desk',
      address: '10.66.1.4/32',
      requestId: 'r-dddddd',
    });
    await inventory.put(bobDesk);
    expect((await inventory.listByOwner(hubs, 'bob')).map((r) => r.peer).sort()).toEqual([
      'bob-desk',
      'bob-laptop',
    ]);
  });
});

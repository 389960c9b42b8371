import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TunnelgateError } from '../../../src/core/errors.js';
import { hmacSigner } from '../../../src/domain/signer.js';
import { AuditLog } from '../../../src/store/audit-log.js';
import { FirstUseKeys } from '../../../src/store/host-keys.js';
import { type RedisKeys, redisKeys } from '../../../src/store/keys.js';
import { type FreshPrefix, freshPrefix, redisUrl } from '../../support/redis.js';

const signer = hmacSigner({
  decision: Buffer.alloc(32, 1),
  job: Buffer.alloc(32, 2),
  audit: Buffer.alloc(32, 3),
});
const AT = new Date('2026-12-04T10:00:00.000Z');
const KEY_A = { keyType: 'ssh-ed25519', key: 'AAAAC3NzaC1lZDI1NTE5AAAAIA1', fingerprint: 'SHA256:aaaa' };
const KEY_B = { keyType: 'ssh-ed25519', key: 'AAAAC3NzaC1lZDI1NTE5AAAAIB2', fingerprint: 'SHA256:bbbb' };

describe('first-use host key pins on real Redis', () => {
  let fresh: FreshPrefix;
  let redis: Redis;
  let keys: RedisKeys;
  let audit: AuditLog;
  let pins: FirstUseKeys;

  beforeEach(() => {
    fresh = freshPrefix('host-keys');
    redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
    keys = redisKeys(fresh.prefix);
    audit = new AuditLog(redis, keys, signer, () => AT);
    pins = new FirstUseKeys(redis, keys, audit, () => AT);
  });
  afterEach(async () => {
    await redis.quit();
    await fresh.cleanup();
  });

  it('pins the first key once, even when two workers race, and audits only that pin', async () => {
    const [a, b] = await Promise.all([
      pins.pinFirst('hub1', '[192.0.2.10]:22', KEY_A),
      new FirstUseKeys(redis, keys, audit, () => AT).pinFirst('hub1', '[192.0.2.10]:22', KEY_B),
    ]);
    expect(a).toEqual(b);
    expect(await pins.get('hub1', '[192.0.2.10]:22')).toEqual(a);
    const entries = (await audit.tail(10)).filter((e) => e.action === 'host-key-trust');
    expect(entries).toHaveLength(1);
    expect(entries[0]?.detail).toContain(a.fingerprint);
  });

  it('keeps the earlier pin when a different key shows up later', async () => {
    await pins.pinFirst('hub1', 'hub1.example', KEY_A);
    const later = await pins.pinFirst('hub1', 'hub1.example', KEY_B);
    expect(later.key).toBe(KEY_A.key);
    expect(later.at).toBe(AT.toISOString());
  });

  it('keeps pins apart per hub and per address', async () => {
    await pins.pinFirst('hub1', 'hub1.example', KEY_A);
    expect(await pins.get('hub2', 'hub1.example')).toBeUndefined();
    expect(await pins.get('hub1', '[hub1.example]:2222')).toBeUndefined();
  });

  it('refuses an unreadable pin with a hint naming the key to delete', async () => {
    await redis.set(keys.hostKey('hub1', 'hub1.example'), JSON.stringify({ keyType: 'ssh-ed25519' }));
    const error = await pins.get('hub1', 'hub1.example').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TunnelgateError);
    expect((error as TunnelgateError).message).toContain('hub1');
    expect((error as TunnelgateError).hint).toContain(keys.hostKey('hub1', 'hub1.example'));
  });
});

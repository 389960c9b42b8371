import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Finding, FixAction } from '../../../src/domain/models/diagnosis.js';
import { finding } from '../../../src/runbooks/finding.js';
import { FINDING_TTL_SEC, FindingStore } from '../../../src/store/findings.js';
import { type RedisKeys, redisKeys } from '../../../src/store/keys.js';
import { type FreshPrefix, freshPrefix, redisUrl } from '../../support/redis.js';

const NOW = new Date('2026-12-04T10:00:00.000Z');
const LATER = new Date(NOW.getTime() + 60_000);

function masquerade(egressInterface: string): Finding {
  const action = FixAction.parse({ type: 'add-masquerade', subnet: '10.6.0.0/24', egressInterface });
  return finding('hub1', {
    check: 'masquerade-missing',
    severity: 'high',
    title: 'no masquerade',
    evidence: ['table ip nat {}'],
    cause: 'missing NAT',
    fix: 'add a masquerade',
    action,
  });
}

describe('FindingStore on real Redis', () => {
  let fresh: FreshPrefix;
  let redis: Redis;
  let keys: RedisKeys;
  let store: FindingStore;

  beforeEach(() => {
    fresh = freshPrefix('findings');
    redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
    keys = redisKeys(fresh.prefix);
    store = new FindingStore(redis, keys);
  });
  afterEach(async () => {
    await redis.quit();
    await fresh.cleanup();
  });

  it('stores only findings that carry a fix action, for a day', async () => {
    const plain = { ...masquerade('eth0'), id: 'f-plainone', action: undefined };
    const { action: _dropped, ...withoutAction } = plain;
    await store.saveFixable('hub1', 'audit', [masquerade('eth0'), withoutAction], NOW);
    expect((await store.get(masquerade('eth0').id))?.finding.action).toEqual(masquerade('eth0').action);
    expect(await store.get('f-plainone')).toBeNull();
    const ttl = await redis.ttl(keys.finding(masquerade('eth0').id));
    expect(ttl).toBeGreaterThan(FINDING_TTL_SEC - 5);
  });

  it('keeps the first proposer while the gate is open', async () => {
    const f = masquerade('eth0');
    await store.saveFixable('hub1', 'audit', [f], NOW);
    const first = await store.propose(f.id, 'carol', NOW);
    const second = await store.propose(f.id, 'dave', LATER);
    expect(first?.proposedBy).toBe('carol');
    expect(second?.proposedBy).toBe('carol');
    expect(second?.gate?.excluded).toEqual(['carol']);
  });

  it('keeps a proposal when the same finding is seen again with the same action', async () => {
    const f = masquerade('eth0');
    await store.saveFixable('hub1', 'audit', [f], NOW);
    await store.propose(f.id, 'carol', NOW);
    await store.markApproved(f.id, 'alice');
    await store.saveFixable('hub1', 'audit', [f], LATER);
    expect((await store.get(f.id))?.proposedBy).toBe('carol');
    expect(await redis.get(keys.findingApproved(f.id))).toBe('alice');
  });

  it('drops the proposal and the approval mark when the action under the same id changes', async () => {
    const f = masquerade('eth0');
    await store.saveFixable('hub1', 'audit', [f], NOW);
    await store.propose(f.id, 'carol', NOW);
    await store.markApproved(f.id, 'alice');
    await store.saveFixable('hub1', 'audit', [masquerade('ens3')], LATER);
    const record = await store.get(f.id);
    expect(record?.finding.action).toEqual({
      type: 'add-masquerade',
      subnet: '10.6.0.0/24',
      egressInterface: 'ens3',
    });
    expect(record?.proposedBy).toBeUndefined();
    expect(record?.gate).toBeUndefined();
    expect(await redis.get(keys.findingApproved(f.id))).toBeNull();
  });

  it('marks a fix approved only once, so it is queued once', async () => {
    const f = masquerade('eth0');
    await store.saveFixable('hub1', 'diagnose', [f], NOW, 'carol-laptop');
    const marks = await Promise.all([store.markApproved(f.id, 'alice'), store.markApproved(f.id, 'bob')]);
    expect(marks.filter(Boolean)).toHaveLength(1);
    await store.remove(f.id);
    expect(await store.get(f.id)).toBeNull();
    expect(await redis.get(keys.findingApproved(f.id))).toBeNull();
  });

  it('answers null when proposing a finding that is unknown or gone', async () => {
    expect(await store.propose('f-unknown1', 'carol', NOW)).toBeNull();
  });
});

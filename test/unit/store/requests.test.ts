import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RolesConfig } from '../../../src/config/schema.js';
import { TunnelgateError } from '../../../src/core/errors.js';
import { approve, requestGate } from '../../../src/domain/approval.js';
import { approvers } from '../../../src/domain/gate.js';
import { Actor } from '../../../src/domain/models/command.js';
import { AccessRequest } from '../../../src/domain/models/request.js';
import { hmacSigner } from '../../../src/domain/signer.js';
import { redisKeys } from '../../../src/store/keys.js';
import { RequestStore } from '../../../src/store/requests.js';
import { type FreshPrefix, freshPrefix, redisUrl } from '../../support/redis.js';

const roles = RolesConfig.parse({ leads: ['alice', 'bob'], oncall: [] });
const signer = hmacSigner({
  decision: Buffer.alloc(32, 1),
  job: Buffer.alloc(32, 2),
  audit: Buffer.alloc(32, 3),
});
const NOW = new Date('2025-05-01T10:00:00.000Z');

function request(
  id: string,
  requester: string,
  device: string,
  mode: 'split' | 'full' = 'split',
): AccessRequest {
  const draft = AccessRequest.omit({ gate: true }).parse({
    id,
    requester,
    device,
    peer: `${requester}-${device}`,
    hub: 'hub1',
    mode,
    publicKey: 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=',
    generatedKey: false,
    state: 'pending',
    createdAt: '2025-05-01T09:00:00.000Z',
    history: [{ at: '2025-05-01T09:00:00.000Z', by: requester, event: 'requested' }],
  });
  return {
    ...draft,
    gate: requestGate(draft, mode === 'full' ? 2 : 1, new Date('2025-05-04T09:00:00.000Z')),
  };
}

describe('RequestStore on real Redis', () => {
  let redis: Redis;
  let fresh: FreshPrefix;
  let store: RequestStore;

  beforeAll(async () => {
    redis = new Redis(redisUrl());
    fresh = freshPrefix('request-store');
    store = new RequestStore(redis, redisKeys(fresh.prefix));
  });
  afterAll(async () => {
    await fresh.cleanup();
    redis.disconnect();
  });

  it('refuses a second request with a taken id, and keeps the first', async () => {
    await store.create(request('r-aaaaaa', 'dave', 'laptop'));
    const second = store.create(request('r-aaaaaa', 'erin', 'phone'));
    await expect(second).rejects.toMatchObject({
      code: 'CONFLICT',
      message: 'request id r-aaaaaa is already taken',
    });
    expect((await store.get('r-aaaaaa')).requester).toBe('dave');
  });

  it('finds requests by requester and by peer through their indexes', async () => {
    await store.create(request('r-bbbbbb', 'frank', 'laptop'));
    await store.create(request('r-cccccc', 'frank', 'phone'));
    await store.create(request('r-dddddd', 'gina', 'laptop'));
    expect((await store.list({ requester: 'frank' })).map((r) => r.id)).toEqual(['r-bbbbbb', 'r-cccccc']);
    expect((await store.list({ peer: 'gina-laptop' })).map((r) => r.id)).toEqual(['r-dddddd']);
    expect(await store.list({ requester: 'frank', states: ['approved'] })).toEqual([]);
  });

  it('counts both of two leads approving a full tunnel at the same moment', async () => {
    await store.create(request('r-eeeeee', 'hana', 'desk', 'full'));
    const decide = (lead: string) =>
      store.update('r-eeeeee', (current) =>
        approve(current, { actor: Actor.parse({ id: lead }), roles, now: NOW, signer }),
      );
    const results = await Promise.all([decide('alice'), decide('bob')]);
    expect(results.every((r) => r.ok)).toBe(true);
    const stored = await store.get('r-eeeeee');
    expect(stored.state).toBe('approved');
    expect(approvers(stored.gate).sort()).toEqual(['alice', 'bob']);
  });

  it('writes nothing when the change refuses', async () => {
    await store.create(request('r-ffffff', 'ivan', 'laptop'));
    const before = await redis.get(redisKeys(fresh.prefix).request('r-ffffff'));
    const refusal = new TunnelgateError('FORBIDDEN', 'no');
    const result = await store.update('r-ffffff', () => ({ ok: false, error: refusal }));
    expect(result).toEqual({ ok: false, error: refusal });
    expect(await redis.get(redisKeys(fresh.prefix).request('r-ffffff'))).toBe(before);
  });

  it('answers NOT_FOUND with a hint for an unknown id', async () => {
    await expect(store.get('r-zzzzzz')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      hint: 'see pending requests with /vpn list pending',
    });
    const missing = await store.update('r-zzzzzz', (r) => ({ ok: true, request: r }));
    expect(missing.ok).toBe(false);
  });
});

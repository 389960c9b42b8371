/**
 * Pruning of finished requests (`policy.keepFinished`) on real Redis with an injected clock: old
 * denied, revoked, expired and failed requests go with their sealed keys and index entries; open
 * and recent ones stay; and the audit chain, which keeps every entry about them, still verifies.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { TunnelgateConfig } from '../../src/config/schema.js';
import { TunnelgateError } from '../../src/core/errors.js';
import { newId } from '../../src/core/ids.js';
import { createLogger } from '../../src/core/logger.js';
import {
  approve,
  deny,
  expire,
  markFailed,
  markProvisioned,
  markProvisioning,
  markRevoked,
  requestGate,
  type Transition,
} from '../../src/domain/approval.js';
import { Actor } from '../../src/domain/models/command.js';
import { AccessRequest } from '../../src/domain/models/request.js';
import { hmacSigner, type Signer } from '../../src/domain/signer.js';
import { AuditLog } from '../../src/store/audit-log.js';
import { InventoryStore } from '../../src/store/inventory.js';
import { type RedisKeys, redisKeys } from '../../src/store/keys.js';
import { RequestStore } from '../../src/store/requests.js';
import { pruneFinished } from '../../src/workers/prune.js';
import { type FreshPrefix, freshPrefix, redisUrl } from '../support/redis.js';

const DAY = 86_400_000;
const T0 = new Date('2026-01-01T09:00:00.000Z');
const day = (n: number) => new Date(T0.getTime() + n * DAY);
const KEY = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';

const config = (keepFinished?: string): TunnelgateConfig =>
  parseConfig(
    `hubs:
  - name: hub1
    host: 198.51.100.2
    user: root
    privateKeyPath: keys/id
    knownHosts: keys/known_hosts
    endpoint: vpn.example.com:51820
    subnet: 10.6.0.0/24
roles:
  leads: [alice]
${keepFinished === undefined ? '' : `policy:\n  keepFinished: ${keepFinished}\n`}`,
    { baseDir: '/', env: {} },
  );

describe('pruning finished requests after policy.keepFinished', () => {
  let fresh: FreshPrefix;
  let keys: RedisKeys;
  let redis: Redis;
  let signer: Signer;
  let requests: RequestStore;
  let inventory: InventoryStore;
  let audit: AuditLog;
  let now: Date;

  beforeEach(({ task }) => {
    fresh = freshPrefix(task.name);
    keys = redisKeys(fresh.prefix);
    redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
    signer = hmacSigner({ decision: randomBytes(32), job: randomBytes(32), audit: randomBytes(32) });
    requests = new RequestStore(redis, keys);
    inventory = new InventoryStore(redis, keys);
    audit = new AuditLog(redis, keys, signer);
    now = T0;
  });
  afterEach(async () => {
    redis.disconnect();
    await fresh.cleanup();
  });

  const ctx = (cfg: TunnelgateConfig) => ({
    config: cfg,
    requests,
    inventory,
    audit,
    clock: () => now,
    logger: createLogger({ level: 'silent' }),
  });
  const lead = (at: Date) => ({
    actor: Actor.parse({ id: 'alice' }),
    roles: config().roles,
    now: at,
    signer,
  });
  const step = (t: Transition): AccessRequest => {
    if (!t.ok) throw t.error;
    return t.request;
  };

  /** A request by `user` made at `at` (pending for 3 days), stored with a sealed key and audited. */
  const requested = (user: string, at: Date): AccessRequest => {
    const draft = AccessRequest.omit({ gate: true }).parse({
      id: newId('r'),
      requester: user,
      device: 'laptop',
      peer: `${user}-laptop`,
      hub: 'hub1',
      mode: 'split',
      publicKey: KEY,
      generatedKey: true,
      state: 'pending',
      createdAt: at.toISOString(),
      history: [{ at: at.toISOString(), by: user, event: 'requested' }],
    });
    return { ...draft, gate: requestGate(draft, 1, new Date(at.getTime() + 3 * DAY)) };
  };
  const provisioned = (request: AccessRequest, at: Date): AccessRequest => {
    const approved = approve(request, lead(at));
    if (!approved.ok) throw approved.error;
    const started = step(markProvisioning(approved.request, { address: '10.6.0.7/32' }, at));
    return step(markProvisioned(started, { at }));
  };
  const failed = (request: AccessRequest, at: Date): AccessRequest => {
    const approved = approve(request, lead(at));
    if (!approved.ok) throw approved.error;
    const started = step(markProvisioning(approved.request, { address: '10.6.0.8/32' }, at));
    return step(markFailed(started, new TunnelgateError('SSH_UNREACHABLE', 'no route').toJSON(), at));
  };
  /** Stores the request as it now is, its sealed key, and an audit entry for its last step. */
  const store = async (request: AccessRequest): Promise<AccessRequest> => {
    await requests.create(request);
    await redis.set(keys.sealedKey(request.id), 'v1.sealed-for-the-test');
    const last = request.history.at(-1);
    await audit.append({
      at: last?.at ?? request.createdAt,
      actor: last?.by ?? request.requester,
      action: last?.event === 'requested' ? 'request' : (last?.event ?? 'request'),
      hub: request.hub,
      target: request.id,
      result: 'ok',
    });
    return request;
  };
  const exists = async (request: AccessRequest) => ({
    request: (await requests.find(request.id)) !== null,
    sealed: (await redis.exists(keys.sealedKey(request.id))) === 1,
    indexed: (await redis.zscore(keys.requests, request.id)) !== null,
    byUser: (await redis.zscore(keys.requestsBy(request.requester), request.id)) !== null,
    byPeer: (await redis.zscore(keys.requestsFor(request.peer), request.id)) !== null,
  });
  const GONE = { request: false, sealed: false, indexed: false, byUser: false, byPeer: false };
  const KEPT = { request: true, sealed: true, indexed: true, byUser: true, byPeer: true };

  it('removes old denied, expired, revoked and failed requests with their sealed keys; keeps open and recent ones; the audit chain still verifies', async () => {
    const oldDenied = await store(step(deny(requested('bob', day(0)), 'not now', lead(day(1)))));
    const oldExpired = await store(step(expire(requested('carol', day(0)), day(4))));
    const oldRevoked = await store(
      step(markRevoked(provisioned(requested('dave', day(0)), day(1)), 'alice', day(2))),
    );
    const oldFailed = await store(failed(requested('erin', day(0)), day(1)));
    // Open requests, however old, and requests that finished recently are kept.
    const oldPending = await store(requested('frank', day(0)));
    const oldLive = await store(provisioned(requested('gina', day(0)), day(1)));
    const recentDenied = await store(step(deny(requested('hank', day(35)), 'no', lead(day(36)))));
    // Made long ago, finished recently: the age counts from when it ended.
    const lateRevoked = await store(
      step(markRevoked(provisioned(requested('ivan', day(0)), day(1)), 'alice', day(35))),
    );
    const entriesBefore = await redis.xlen(keys.audit);
    expect(await audit.verify()).toMatchObject({ intact: true, checked: entriesBefore });

    now = day(40); // 30d default: anything that ended before day 10 is due.
    const removed = await pruneFinished(ctx(config()));

    expect(removed.sort()).toEqual([oldDenied.id, oldExpired.id, oldRevoked.id, oldFailed.id].sort());
    for (const request of [oldDenied, oldExpired, oldRevoked, oldFailed])
      expect(await exists(request)).toEqual(GONE);
    for (const request of [oldPending, oldLive, recentDenied, lateRevoked])
      expect(await exists(request)).toEqual(KEPT);
    expect((await requests.list()).map((r) => r.id).sort()).toEqual(
      [oldPending.id, oldLive.id, recentDenied.id, lateRevoked.id].sort(),
    );

    // Every entry about the removed requests is still there, one more per removal, and the chain
    // (incrementally, from the checkpoint, and in full) verifies.
    const entries = await audit.tail(1000);
    expect(entries).toHaveLength(entriesBefore + 4);
    for (const request of [oldDenied, oldExpired, oldRevoked, oldFailed]) {
      expect(entries.filter((e) => e.target === request.id).map((e) => e.action)).toEqual([
        expect.not.stringMatching(/^prune$/),
        'prune',
      ]);
    }
    expect(await audit.verify()).toMatchObject({ intact: true, checked: entriesBefore + 4, read: 4 });
    expect(await audit.verify({ full: true })).toMatchObject({ intact: true, checked: entriesBefore + 4 });

    // A second run finds nothing more.
    expect(await pruneFinished(ctx(config()))).toEqual([]);
  });

  it('follows the configured keepFinished, and keeps a finished request a peer in the inventory still names', async () => {
    const denied = await store(step(deny(requested('bob', day(0)), 'no', lead(day(1)))));
    const revoked = await store(
      step(markRevoked(provisioned(requested('dave', day(0)), day(1)), 'alice', day(2))),
    );
    await inventory.put({
      peer: revoked.peer,
      owner: revoked.requester,
      device: revoked.device,
      hub: revoked.hub,
      publicKey: revoked.publicKey,
      address: '10.6.0.7/32',
      mode: revoked.mode,
      requestId: revoked.id,
      createdAt: day(1).toISOString(),
      expiresAt: null,
    });

    now = day(6);
    expect(await pruneFinished(ctx(config()))).toEqual([]);
    expect(await pruneFinished(ctx(config('4d')))).toEqual([denied.id]);
    expect(await exists(denied)).toEqual(GONE);
    expect(await exists(revoked)).toEqual(KEPT);
    expect(config().policy.keepFinished).toBe(30 * DAY);
  });
});

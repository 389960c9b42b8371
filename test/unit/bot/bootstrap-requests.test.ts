import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BootstrapRequests, verifyBootstrap } from '../../../src/bot/bootstrap-requests.js';
import { HubConfig, RolesConfig } from '../../../src/config/schema.js';
import { approvers } from '../../../src/domain/gate.js';
import { Actor } from '../../../src/domain/models/command.js';
import { hmacSigner } from '../../../src/domain/signer.js';
import { renderBootstrap } from '../../../src/hub/bootstrap/bootstrap.js';
import { hubPrograms } from '../../../src/hub/programs/catalog.js';
import { redisKeys } from '../../../src/store/keys.js';
import { type FreshPrefix, freshPrefix, redisUrl } from '../../support/redis.js';

const hub = HubConfig.parse({
  name: 'hub1',
  host: '192.0.2.10',
  user: 'root',
  privateKeyPath: '/tmp/key',
  hostKey: 'ssh-ed25519 AAAA',
  endpoint: 'vpn.example.com:51999',
  subnet: '10.6.0.0/24',
});
const BOT_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFak';
const options = { sshFrom: ['203.0.113.0/28'], routing: false };
const plan = renderBootstrap(hub, { ...options, botPublicKey: BOT_KEY }, hubPrograms());
const roles = RolesConfig.parse({ leads: ['alice', 'dave'], oncall: [] });
const key = (n: number) => Buffer.alloc(32, n);
const signer = hmacSigner({ decision: key(1), job: key(2), audit: key(3) });
const NOW = new Date('2026-12-04T10:00:00.000Z');
const as = (id: string) => ({ actor: Actor.parse({ id }), roles, now: NOW, signer });

describe('hub bootstrap requests on the approval gate', () => {
  let redis: Redis;
  let fresh: FreshPrefix;
  let store: BootstrapRequests;

  beforeAll(async () => {
    redis = new Redis(redisUrl());
    fresh = freshPrefix('bootstrap-requests');
    store = new BootstrapRequests(redis, redisKeys(fresh.prefix));
  });
  afterAll(async () => {
    await fresh.cleanup();
    redis.disconnect();
  });

  it('refuses self-approval and non-leads, then runs once on another lead’s approval', async () => {
    const request = await store.create(plan, options, 'alice', NOW);
    expect(request.id).toMatch(/^b-[a-z0-9]{6}$/);
    await expect(store.approve(request.id, plan, as('alice'))).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: 'you cannot approve your own bootstrap request',
    });
    await expect(store.approve(request.id, plan, as('bob'))).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: 'only leads can approve bootstrap requests',
    });
    const approved = await store.approve(request.id, plan, as('dave'));
    expect(approved.state).toBe('approved');
    expect(approvers(approved.gate)).toEqual(['dave']);
    expect(() => verifyBootstrap(approved, plan, roles, signer)).not.toThrow();
    await store.finish(request.id, { at: NOW });
    await expect(store.approve(request.id, plan, as('dave'))).rejects.toMatchObject({
      code: 'CONFLICT',
      message: `bootstrap request ${request.id} is already applied`,
    });
  });

  it('refuses an approval when the plan changed since it was asked for', async () => {
    const request = await store.create(plan, options, 'alice', NOW);
    const routed = renderBootstrap(hub, { ...options, routing: true, botPublicKey: BOT_KEY }, hubPrograms());
    await expect(store.approve(request.id, routed, as('dave'))).rejects.toMatchObject({
      code: 'CONFLICT',
      message: `the bootstrap of hub "hub1" no longer matches request ${request.id}`,
    });
    expect((await store.get(request.id)).state).toBe('pending');
  });

  it('will not run an approval forged in Redis without the deployment secret', async () => {
    const request = await store.create(plan, options, 'alice', NOW);
    const forger = hmacSigner({ decision: key(9), job: key(2), audit: key(3) });
    const forged = await new BootstrapRequests(redis, redisKeys(fresh.prefix)).approve(request.id, plan, {
      ...as('dave'),
      signer: forger,
    });
    expect(forged.state).toBe('approved');
    expect(() => verifyBootstrap(forged, plan, roles, signer)).toThrow(
      `bootstrap request ${request.id} cannot run: the decision of dave does not carry a valid signature`,
    );
  });

  it('lapses after 24 hours', async () => {
    const request = await store.create(plan, options, 'alice', NOW);
    const later = { ...as('dave'), now: new Date(NOW.getTime() + 25 * 3_600_000) };
    await expect(store.approve(request.id, plan, later)).rejects.toMatchObject({
      code: 'CONFLICT',
      message: `bootstrap request ${request.id} is already expired; nothing was changed`,
    });
  });

  it('answers NOT_FOUND for an id that is not a bootstrap id', async () => {
    await expect(store.get('r-aaaaaa')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

import { setTimeout as sleep } from 'node:timers/promises';
import type { Job } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Message } from '../../src/domain/models/reply.js';
import { readOnlyWgConfigDir } from '../../src/lab/faults.js';
import { HUB_WG_CONFIG } from '../../src/lab/hub.js';
import { listPeers, parseWgConf } from '../../src/wg/conf.js';
import { parseDump } from '../../src/wg/dump.js';
import { useLab } from '../support/lab.js';
import { type Harness, replyOf, startHarness } from '../support/tunnelgate.js';
import { jobsSettled } from '../support/wait.js';

const lab = useLab({ hubs: 1, clients: 1 });

lab.describe('time-bound access on a lab hub', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness(lab.get(), 'time-bound', {
      policy: { expiryWarning: '3s' },
      worker: { lockDuration: '5s', stalledInterval: '2s', attempts: 2, backoff: '1s' },
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const hub = () => lab.hub();
  const liveKeys = async () =>
    parseDump((await hub().exec(['wg', 'show', 'wg0', 'dump'])).stdout).peers.map(
      (p) => p.publicKey as string,
    );
  const provision = async (user: string, line: string) => {
    const id = replyOf(await h.run(user, line), 'request.pending')?.request.id ?? '';
    await h.run('alice', `/vpn approve ${id}`);
    await h.waitFor((m) => m.reply.kind === 'peer.provisioned' && m.reply.requestId === id);
    return h.runtime.bot.requests.get(id);
  };
  const about = (kind: string, peer: string) => (m: Message) =>
    m.reply.kind === kind && 'peer' in m.reply && m.reply.peer === peer;

  it('warns the owner before expiry, then removes the peer and its client loses the tunnel', async () => {
    const request = await provision('bob', '/vpn request laptop --for 7s');
    const config = await h.waitFor((m) => m.reply.kind === 'peer.config' && m.reply.requestId === request.id);
    const client = lab.get().clients[0];
    await client?.up(config.reply.kind === 'peer.config' ? config.reply.configText : '');
    expect(await client?.ping(hub().hubAddress, { count: 2, timeoutSec: 5 })).toBe(true);

    const warning = await h.waitFor(about('peer.expiring', 'bob-laptop'), 20_000);
    expect(warning.to).toEqual({ type: 'user', id: 'bob' });
    expect(await liveKeys()).toContain(request.publicKey);

    const revoked = await h.waitFor(about('peer.revoked', 'bob-laptop'), 20_000);
    expect(revoked.reply.kind === 'peer.revoked' && revoked.reply.cause).toBe('expiry');
    expect(await liveKeys()).not.toContain(request.publicKey);
    expect(await client?.ping(hub().hubAddress, { count: 2, timeoutSec: 3 })).toBe(false);
    expect(h.messages.filter(about('peer.expiring', 'bob-laptop'))).toHaveLength(1);
    expect((await h.runtime.bot.requests.get(request.id)).state).toBe('revoked');
    await client?.down();
  });

  it('extends access only with a lead approval, and the peer stays until the new expiry', async () => {
    const request = await provision('bob', '/vpn request phone --for 6s');
    const asked = await h.run('bob', '/vpn extend bob-phone 8s');
    const pending = replyOf(asked, 'extension.pending');
    expect(pending?.review).toBe(false);
    expect(asked.find((m) => m.to.type === 'leads')?.reply.kind).toBe('extension.pending');

    expect(replyOf(await h.run('bob', `/vpn approve ${pending?.id}`), 'error')?.code).toBe('FORBIDDEN');
    expect(replyOf(await h.run('carol', `/vpn approve ${pending?.id}`), 'error')?.code).toBe('FORBIDDEN');
    const decided = replyOf(await h.run('alice', `/vpn approve ${pending?.id}`), 'extension.decided');
    expect(decided?.approved).toBe(true);
    const before = Date.parse(request.expiresAt ?? '');
    expect(Date.parse(decided?.expiresAt ?? '') - before).toBe(8_000);
    expect(replyOf(await h.run('alice', `/vpn approve ${pending?.id}`), 'error')?.code).toBe('CONFLICT');
    expect((await h.runtime.bot.requests.get(request.id)).expiresAt).toBe(decided?.expiresAt);
    // The hub's config file, the record reconcile rebuilds from, carries the new expiry too.
    const fileExpiry = async () =>
      listPeers(parseWgConf(await hub().readFile(HUB_WG_CONFIG))).find(
        (p) => p.publicKey === request.publicKey,
      )?.meta?.expires;
    const deadline = Date.now() + 3_000;
    while ((await fileExpiry()) !== decided?.expiresAt && Date.now() < deadline) await sleep(50);
    expect(await fileExpiry()).toBe(decided?.expiresAt);

    // Past the original expiry the peer is still there; it goes at the extended one.
    await sleep(Math.max(0, before + 2_000 - Date.now()));
    expect(await liveKeys()).toContain(request.publicKey);
    await h.waitFor(about('peer.revoked', 'bob-phone'), 25_000);
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(decided?.expiresAt ?? '') - 1_000);
    expect(await liveKeys()).not.toContain(request.publicKey);
  });

  it('tells the leads, after the retries, when the hub config file cannot take an extended expiry', async () => {
    const request = await provision('carol', '/vpn request tablet --for 1h');
    const fileExpiry = async () =>
      listPeers(parseWgConf(await hub().readFile(HUB_WG_CONFIG))).find(
        (p) => p.publicKey === request.publicKey,
      )?.meta?.expires;
    expect(await fileExpiry()).toBe(request.expiresAt);
    const undo = await readOnlyWgConfigDir(hub());
    try {
      const pending = replyOf(await h.run('carol', '/vpn extend carol-tablet 1h'), 'extension.pending');
      const decided = replyOf(await h.run('alice', `/vpn approve ${pending?.id}`), 'extension.decided');
      expect(decided?.approved).toBe(true);
      const notice = await h.waitFor(
        (m) =>
          m.reply.kind === 'notice' && m.reply.text.includes('writing the extended expiry of carol-tablet'),
        20_000,
      );
      expect(notice.to).toEqual({ type: 'leads' });
      expect(notice.reply.kind === 'notice' ? notice.reply.text : '').toMatch(
        /extend again after fixing the hub/,
      );
      // Redis has the approved expiry; the hub file, which reconcile trusts, still has the old one.
      expect((await h.runtime.bot.requests.get(request.id)).expiresAt).toBe(decided?.expiresAt);
      expect(await fileExpiry()).toBe(request.expiresAt);
      expect(await liveKeys()).toContain(request.publicKey);
      const isSetExpiry = (j: Job) => j.name === 'set-expiry';
      const failed = await jobsSettled(h.runtime.bot.queues.hubQueue('hub1'), 'failed', (jobs) =>
        jobs.some(isSetExpiry),
      );
      expect(failed.find(isSetExpiry)?.attemptsMade).toBe(2);
    } finally {
      await undo();
    }
    await h.run('carol', '/vpn revoke carol-tablet');
    await h.waitFor(about('peer.revoked', 'carol-tablet'));
  });

  it('refuses to extend a permanent peer', async () => {
    await provision('dave', '/vpn request desk');
    expect(replyOf(await h.run('dave', '/vpn extend dave-desk 1d'), 'error')?.code).toBe('CONFLICT');
  });
});

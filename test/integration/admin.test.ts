import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { LabHub } from '../../src/lab/hub.js';
import { HubJob } from '../../src/queue/jobs.js';
import { parseDump } from '../../src/wg/dump.js';
import { generateKeyPair } from '../../src/wg/keys.js';
import { checkAuditChain } from '../../src/workers/audit-check.js';
import { useLab } from '../support/lab.js';
import { redisUrl } from '../support/redis.js';
import { type Harness, replyOf, startHarness } from '../support/tunnelgate.js';

const lab = useLab({ hubs: 2, clients: 0 });

lab.describe('leads: full tunnel, offboarding, expiry, reconcile and the audit log', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness(lab.get(), 'admin', { leads: ['alice', 'lena'], policy: { requestTtl: '2s' } });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const hubAt = (i: number): LabHub => {
    const hub = lab.get().hubs[i];
    if (hub === undefined) throw new Error(`no hub ${i}`);
    return hub;
  };
  const livePeers = async (hub: LabHub) =>
    parseDump((await hub.exec(['wg', 'show', 'wg0', 'dump'])).stdout).peers;
  const provision = async (user: string, line: string, approvers = ['alice']) => {
    const id = replyOf(await h.run(user, line), 'request.pending')?.request.id ?? '';
    for (const lead of approvers) await h.run(lead, `/vpn approve ${id}`);
    await h.waitFor((m) => m.reply.kind === 'peer.provisioned' && m.reply.requestId === id);
    return id;
  };

  it('needs a reason and two distinct leads for a full tunnel, and shows what will change', async () => {
    const missing = replyOf(await h.run('bob', '/vpn request laptop --hub hub1 --full'), 'error');
    expect(missing?.message).toMatch(/full tunnel needs --reason/);
    const pending = replyOf(
      await h.run('bob', '/vpn request laptop --hub hub1 --full --reason "travel to hostile wifi"'),
      'request.pending',
    );
    expect(pending?.preview).toMatchObject({
      mode: 'full',
      clientAllowedIps: ['0.0.0.0/0', '::/0'],
      approvalsRequired: 2,
    });
    const id = pending?.request.id ?? '';
    const first = replyOf(await h.run('alice', `/vpn approve ${id}`), 'request.approved');
    expect(first).toMatchObject({ approvals: ['alice'], required: 2, queued: false });
    const again = replyOf(await h.run('alice', `/vpn approve ${id}`), 'request.approved');
    expect(again?.approvals).toEqual(['alice']);
    expect((await livePeers(hubAt(0))).length).toBe(0);
    const second = replyOf(await h.run('lena', `/vpn approve ${id}`), 'request.approved');
    expect(second).toMatchObject({ approvals: ['alice', 'lena'], queued: true });
    await h.waitFor((m) => m.reply.kind === 'peer.provisioned' && m.reply.requestId === id);
    const config = await h.waitFor((m) => m.reply.kind === 'peer.config' && m.reply.requestId === id);
    expect(config.reply.kind === 'peer.config' && config.reply.configText).toMatch(
      /^AllowedIPs = 0\.0\.0\.0\/0, ::\/0$/m,
    );
  });

  it('offboards a user: every peer on every hub is removed and open requests are denied', async () => {
    await provision('olga', '/vpn request laptop --hub hub1');
    await provision('olga', '/vpn request phone --hub hub2');
    const open =
      replyOf(await h.run('olga', '/vpn request tablet --hub hub2'), 'request.pending')?.request.id ?? '';
    expect(replyOf(await h.run('bob', '/vpn offboard olga'), 'error')?.code).toBe('FORBIDDEN');

    const replies = await h.run('alice', '/vpn offboard olga');
    expect(replyOf(replies, 'notice')?.text).toBe(
      'offboarding olga: 2 peer(s) to remove, 1 pending request(s) denied',
    );
    await h.waitFor((m) => m.reply.kind === 'peer.revoked' && m.reply.peer === 'olga-phone');
    await h.waitFor((m) => m.reply.kind === 'peer.revoked' && m.reply.peer === 'olga-laptop');
    const inventory = await h.runtime.bot.inventory.listAll(['hub1', 'hub2']);
    expect(inventory.filter((r) => r.owner === 'olga')).toEqual([]);
    expect((await h.runtime.bot.requests.get(open)).state).toBe('denied');
    const keys = (await h.runtime.bot.requests.list({ requester: 'olga' })).map((r) => r.publicKey);
    const live = [...(await livePeers(hubAt(0))), ...(await livePeers(hubAt(1)))].map((p) => p.publicKey);
    expect(live.filter((k) => keys.includes(k))).toEqual([]);
  });

  it('expires a request left pending past its TTL and tells the requester', async () => {
    const id =
      replyOf(await h.run('pete', '/vpn request laptop --hub hub2'), 'request.pending')?.request.id ?? '';
    const notice = await h.waitFor(
      (m) => m.reply.kind === 'request.expired' && m.reply.requestId === id,
      20_000,
    );
    expect(notice.to).toEqual({ type: 'user', id: 'pete' });
    expect((await h.runtime.bot.requests.get(id)).state).toBe('expired');
    expect(replyOf(await h.run('alice', `/vpn approve ${id}`), 'error')?.message).toMatch(/expired/);
  });

  it('reconcile reports a peer added by hand and overlapping AllowedIPs, and rebuilds a wiped inventory from the hub', async () => {
    await provision('quinn', '/vpn request laptop --hub hub2');
    const before = await h.runtime.bot.inventory.list('hub2');
    const quinn = before.find((r) => r.owner === 'quinn');
    expect(quinn).toBeDefined();
    const intruder = generateKeyPair().publicKey;
    await hubAt(1).exec(['wg', 'set', 'wg0', 'peer', intruder, 'allowed-ips', quinn?.address ?? '']);
    await hubAt(1).exec([
      'wg',
      'set',
      'wg0',
      'peer',
      quinn?.publicKey ?? '',
      'allowed-ips',
      `${quinn?.address},10.66.2.0/28`,
    ]);
    const sibling = generateKeyPair().publicKey;
    await hubAt(1).exec(['wg', 'set', 'wg0', 'peer', sibling, 'allowed-ips', '10.66.2.200/32,10.66.2.8/29']);

    const redis = new Redis(redisUrl());
    try {
      await redis.del(h.runtime.bot.keys.inventory('hub2'), h.runtime.bot.keys.ipam('hub2'));
    } finally {
      redis.disconnect();
    }
    expect(await h.runtime.bot.inventory.list('hub2')).toEqual([]);

    const jobId = await h.runtime.bot.queues.addHub(
      HubJob.parse({ kind: 'reconcile', hub: 'hub2', by: 'alice', rebuild: true }),
    );
    const report = await h.waitFor((m) => m.reply.kind === 'reconcile.report' && m.jobId === jobId);
    const findings = report.reply.kind === 'reconcile.report' ? report.reply.findings : [];
    expect(report.reply.kind === 'reconcile.report' && report.reply.inSync).toBe(false);
    expect(
      findings
        .filter((f) => f.type === 'foreign')
        .map((f) => f.publicKey)
        .sort(),
    ).toEqual([intruder, sibling].sort());
    expect(findings.some((f) => f.type === 'overlap' && f.detail.includes('10.66.2.8/29'))).toBe(true);
    const restored = findings.filter((f) => f.type === 'restored').map((f) => f.peer);
    expect(restored).toEqual(expect.arrayContaining(before.map((r) => r.peer)));
    const after = await h.runtime.bot.inventory.list('hub2');
    expect(after.map((r) => r.peer).sort()).toEqual(before.map((r) => r.peer).sort());
    expect((await h.runtime.bot.inventory.claimedAddresses('hub2')).sort()).toEqual(
      before.map((r) => r.address).sort(),
    );
    // The lookups by name, request and owner find the rebuilt records (the index was left stale).
    const rebuilt = after.find((r) => r.owner === 'quinn');
    expect(await h.runtime.bot.inventory.findByName(['hub1', 'hub2'], quinn?.peer ?? '')).toEqual(rebuilt);
    expect(await h.runtime.bot.inventory.findByRequest('hub2', quinn?.requestId ?? '')).toEqual(rebuilt);
    expect(await h.runtime.bot.inventory.listByOwner(['hub1', 'hub2'], 'quinn')).toEqual([rebuilt]);
  });

  it('shows the MAC-chained audit log to leads only', async () => {
    expect(replyOf(await h.run('bob', '/vpn log'), 'error')?.code).toBe('FORBIDDEN');
    const log = replyOf(await h.run('alice', '/vpn log 200'), 'audit.log');
    expect(log?.chainIntact).toBe(true);
    const actions = log?.entries.map((e) => `${e.actor} ${e.action} ${e.result}`) ?? [];
    expect(actions).toEqual(
      expect.arrayContaining([
        'alice offboard queued',
        'bob offboard refused',
        'worker provision ok',
        'alice reconcile drift',
      ]),
    );
  });

  it('the scheduled check and then /vpn log name an entry a Redis write rewrote after it was verified (last: it breaks the log)', async () => {
    const redis = h.runtime.bot.redis;
    const stream = h.runtime.bot.keys.audit;
    const rows = await redis.xrange(stream, '-', '+');
    const [seq] = rows[2] ?? [];
    // Rewrite entry 3 in place (streams cannot be edited: copy with the change, swap the copy in).
    const copy = `${stream}:forged`;
    for (const [id, flat] of rows) {
      const fields = id === seq ? flat.map((f, i) => (flat[i - 1] === 'actor' ? 'U09MALLORY' : f)) : flat;
      await redis.xadd(copy, id, ...fields);
    }
    await redis.rename(copy, stream);

    // /vpn log verified up to the newest entry before, so the scheduled full check finds it…
    const verdict = await checkAuditChain(h.runtime.worker);
    expect(verdict).toMatchObject({ intact: false, broken: { seq } });
    const notice = await h.waitFor(
      (m) => m.reply.kind === 'notice' && /audit chain BROKEN/.test(m.reply.text),
    );
    expect(notice.to).toEqual({ type: 'leads' });
    expect(notice.reply.kind === 'notice' ? notice.reply.text : '').toContain(`at entry ${seq}`);

    // …and from then on /vpn log names it too.
    const log = replyOf(await h.run('alice', '/vpn log 5'), 'audit.log');
    expect(log?.chainIntact).toBe(false);
    expect(log?.broken).toMatchObject({ seq, reason: expect.stringMatching(/does not match its MAC/) });
    expect(log?.broken?.at).toMatch(/^\d{4}-\d\d-\d\dT/);
  });
});

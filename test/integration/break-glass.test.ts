/**
 * Break-glass on a lab hub, with a PagerDuty stand-in speaking its documented API: the on-call
 * engineer gets a live peer at once for an open incident and every lead is told; a resolve webhook
 * with a valid signature cuts the tunnel and leads get a summary; forged, replayed and stale
 * webhooks change nothing; refusals grant nothing; caps hold; a provider answering garbage leaves
 * only the static on-call list; the poll and the deadline end access too.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { handleIncidentWebhook } from '../../src/bot/incident-webhook.js';
import { type HttpEndpoint, startHttpServer } from '../../src/cli/http.js';
import type { Message, Reply } from '../../src/domain/models/reply.js';
import { parseDump } from '../../src/wg/dump.js';
import { capturedLogger } from '../support/captured-logger.js';
import { useLab } from '../support/lab.js';
import { type OncallStandin, pagerDutyWebhook, startOncallStandin } from '../support/oncall-standin.js';
import { type Harness, replyOf, startHarness } from '../support/tunnelgate.js';

const lab = useLab({ hubs: 1, clients: 1 });
const SECRET = 'whsec-standin';

type Granted = Extract<Reply, { kind: 'breakglass.granted' }>;
type Ended = Extract<Reply, { kind: 'breakglass.ended' }>;

lab.describe('break-glass on a lab hub', () => {
  let h: Harness;
  let pd: OncallStandin;
  let http: HttpEndpoint;

  beforeAll(async () => {
    pd = await startOncallStandin('pagerduty');
    pd.schedules.set('S1', [
      'carol@example.com',
      'erin@example.com',
      'dave@example.com',
      'stranger@example.com',
    ]);
    pd.incidents.set('PT1', { title: 'db down', status: 'triggered' });
    pd.incidents.set('PT2', { title: 'api slow', status: 'acknowledged' });
    pd.incidents.set('PT5', { title: 'disk full', status: 'triggered' });
    pd.incidents.set('PT7', { title: 'cert expired', status: 'triggered' });
    pd.incidents.set('PT9', { title: 'over', status: 'resolved' });
    h = await startHarness(lab.get(), 'break-glass', {
      oncall: ['frank'],
      oncallProvider: {
        provider: 'pagerduty',
        apiUrl: pd.url,
        schedules: ['S1'],
        users: { 'carol@example.com': 'carol', 'erin@example.com': 'erin', 'dave@example.com': 'dave' },
        cacheFor: '1s',
        pollEvery: '2s',
      },
      policy: { breakGlass: { perWeek: 2 } },
      env: { PAGERDUTY_TOKEN: pd.token },
    });
    http = await startHttpServer(
      {
        health: () => h.runtime.health(),
        metrics: h.runtime.metrics,
        webhook: (call) => handleIncidentWebhook(h.runtime.bot, SECRET, call),
      },
      { host: '127.0.0.1', port: 0, logger: capturedLogger().logger },
    );
  });
  afterAll(async () => {
    await http?.close();
    await h?.stop();
    await pd?.close();
  });

  const liveKeys = async () =>
    parseDump((await lab.hub().exec(['wg', 'show', 'wg0', 'dump'])).stdout).peers.map(
      (p) => p.publicKey as string,
    );
  const post = (body: string, signature?: string) =>
    fetch(`${http.url}/webhooks/pagerduty`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(signature === undefined ? {} : { 'x-pagerduty-signature': signature }),
      },
      body,
    });
  const granted = (replies: Message[]) => {
    const notice = replies.find((m) => m.to.type === 'leads')?.reply;
    expect(notice?.kind, JSON.stringify(replies.map((m) => m.reply))).toBe('breakglass.granted');
    return notice as Granted;
  };
  const provisioned = async (grant: Granted) => {
    await h.waitFor((m) => m.reply.kind === 'peer.provisioned' && m.reply.requestId === grant.requestId);
    return h.runtime.bot.requests.get(grant.requestId);
  };
  const ended = (requestId: string, ms?: number) =>
    h.waitFor((m) => m.reply.kind === 'breakglass.ended' && m.reply.requestId === requestId, ms);
  const errorOf = (replies: Message[]) => replyOf(replies, 'error');
  let first: Granted;
  let resolve: { body: string; signature: string };

  it('gives the on-call engineer a live peer at once for an open incident, and tells every lead', async () => {
    const replies = await h.run(
      'carol',
      '/vpn breakglass hub1 --incident PT1 --for 1h --reason "db is down"',
    );
    first = granted(replies);
    expect(first).toMatchObject({
      user: 'carol',
      hub: 'hub1',
      basis: 'oncall',
      forMs: 3_600_000,
      incident: {
        provider: 'pagerduty',
        id: 'PT1',
        title: 'db down',
        url: 'https://example.pagerduty.com/incidents/PT1',
      },
    });
    expect(replies.find((m) => m.to.type === 'leads')?.private).toBe(false);
    const request = await provisioned(first);
    expect(request.gate.decisions).toHaveLength(1);
    expect(request.gate.decisions[0]?.basis).toEqual({
      kind: 'oncall',
      source: 'pagerduty',
      incident: 'PT1',
    });
    expect(await liveKeys()).toContain(request.publicKey);
    const config = await h.waitFor(
      (m) => m.reply.kind === 'peer.config' && m.reply.requestId === first.requestId,
    );
    await lab.get().clients[0]?.up(config.reply.kind === 'peer.config' ? config.reply.configText : '');
    expect(await lab.get().clients[0]?.ping(lab.hub().hubAddress, { count: 2, timeoutSec: 5 })).toBe(true);
    const audit = (await h.runtime.bot.audit.tail(20)).find((e) => e.action === 'breakglass');
    expect(audit?.detail).toContain(
      'incident pagerduty:PT1 "db down" https://example.pagerduty.com/incidents/PT1',
    );

    const again = errorOf(await h.run('carol', '/vpn breakglass hub1 --incident PT2'));
    expect(again?.code).toBe('CONFLICT');
    expect(again?.message).toContain('already have break-glass access');
  });

  it('ignores a forged webhook, and a resolve with a valid signature cuts the tunnel and sends leads a summary', async () => {
    const forged = pagerDutyWebhook('guessed-secret', {
      id: 'E-forged',
      type: 'incident.resolved',
      incident: 'PT1',
      status: 'resolved',
    });
    expect((await post(forged.body, forged.signature)).status).toBe(401);
    expect((await post(forged.body)).status).toBe(401);
    const request = await h.runtime.bot.requests.get(first.requestId);
    expect(await liveKeys()).toContain(request.publicKey);
    expect(
      await h.runtime.bot.queues.hubQueue('hub1').getJob(`revoke-hub1-${first.requestId}`),
    ).toBeUndefined();

    resolve = pagerDutyWebhook(SECRET, {
      id: 'E-1',
      type: 'incident.resolved',
      incident: 'PT1',
      status: 'resolved',
    });
    expect((await post(resolve.body, `v1=${'0'.repeat(64)},${resolve.signature}`)).status).toBe(202);
    const revoked = await h.waitFor((m) => m.reply.kind === 'peer.revoked' && m.reply.peer === first.peer);
    expect(revoked.reply.kind === 'peer.revoked' && revoked.reply.cause).toBe('incident');
    expect(await liveKeys()).not.toContain(request.publicKey);
    expect(await lab.get().clients[0]?.ping(lab.hub().hubAddress, { count: 2, timeoutSec: 3 })).toBe(false);
    const summary = (await ended(first.requestId)) as Message & { reply: Ended };
    expect(summary.to).toEqual({ type: 'leads' });
    expect(summary.reply).toMatchObject({
      user: 'carol',
      hub: 'hub1',
      cause: 'incident resolved',
      incident: { id: 'PT1' },
    });
    expect(summary.reply.from).toBe(request.provisionedAt);
    expect(summary.reply.latestHandshake).not.toBeNull();
    expect(summary.reply.rxBytes).toBeGreaterThan(0);
    expect(summary.reply.txBytes).toBeGreaterThan(0);
    await lab.get().clients[0]?.down();
  });

  it('changes nothing for a replayed or stale resolve webhook, and caps grants per week', async () => {
    const second = granted(await h.run('carol', '/vpn breakglass hub1 --incident PT2'));
    const request = await provisioned(second);
    expect((await post(resolve.body, resolve.signature)).status).toBe(200);
    const stale = pagerDutyWebhook(SECRET, {
      id: 'E-old',
      type: 'incident.resolved',
      incident: 'PT2',
      status: 'resolved',
      occurredAt: new Date(Date.now() - 2 * 3_600_000).toISOString(),
    });
    expect((await post(stale.body, stale.signature)).status).toBe(409);
    const ack = pagerDutyWebhook(SECRET, {
      id: 'E-2',
      type: 'incident.acknowledged',
      incident: 'PT2',
      status: 'acknowledged',
    });
    expect((await post(ack.body, ack.signature)).status).toBe(202);
    expect(
      await h.runtime.bot.queues.hubQueue('hub1').getJob(`revoke-hub1-${second.requestId}`),
    ).toBeUndefined();
    expect(await h.runtime.bot.breakGlass.activeOf('carol')).toBe(second.requestId);
    expect(await liveKeys()).toContain(request.publicKey);

    await h.run('carol', `/vpn revoke ${second.peer}`);
    const summary = await ended(second.requestId);
    expect(summary.reply.kind === 'breakglass.ended' && summary.reply.cause).toBe('revoke by carol');
    expect(summary.reply.kind === 'breakglass.ended' && summary.reply.latestHandshake).toBeNull();
    const capped = errorOf(await h.run('carol', '/vpn breakglass hub1 --incident PT5'));
    expect(capped?.code).toBe('CONFLICT');
    expect(capped?.message).toContain('policy.breakGlass.perWeek');
  });

  it('refuses someone not on call, a resolved or unknown incident, too long a grant and an offboarded user, granting nothing', async () => {
    const notOnCall = errorOf(await h.run('bob', '/vpn breakglass hub1 --incident PT5'));
    expect(notOnCall?.code).toBe('FORBIDDEN');
    expect(notOnCall?.message).toContain('not on call for hub1');
    expect(errorOf(await h.run('dave', '/vpn breakglass hub1 --incident PT9'))?.code).toBe('CONFLICT');
    expect(errorOf(await h.run('dave', '/vpn breakglass hub1 --incident NOPE'))?.code).toBe('NOT_FOUND');
    expect(errorOf(await h.run('dave', '/vpn breakglass hub1 --incident PT5 --for 13h'))?.code).toBe(
      'INPUT_INVALID',
    );
    await h.run('alice', '/vpn offboard dave');
    const offboarded = errorOf(await h.run('dave', '/vpn breakglass hub1 --incident PT5'));
    expect(offboarded?.code).toBe('FORBIDDEN');
    expect(offboarded?.message).toContain('offboarded');
    const refusals = (await h.runtime.bot.audit.tail(50)).filter(
      (e) => e.action === 'breakglass' && e.result === 'refused',
    );
    expect(refusals.map((e) => [e.actor, e.target])).toContainEqual(['bob', 'PT5']);
    for (const user of ['bob', 'dave']) {
      expect(await h.runtime.bot.requests.list({ requester: user as never })).toEqual([]);
      expect(await h.runtime.bot.breakGlass.activeOf(user)).toBeNull();
    }
  });

  it('has the worker refuse a grant whose incident resolved before its peer went live', async () => {
    const queue = h.runtime.bot.queues.hubQueue('hub1');
    await queue.pause();
    let grant: Granted;
    try {
      grant = granted(await h.run('erin', '/vpn breakglass hub1 --incident PT7'));
      pd.incidents.set('PT7', { title: 'cert expired', status: 'resolved' });
    } finally {
      await queue.resume();
    }
    const failed = await h.waitFor(
      (m) => m.reply.kind === 'peer.failed' && m.reply.requestId === grant.requestId,
    );
    expect(failed.reply.kind === 'peer.failed' && failed.reply.error.message).toContain(
      'incident PT7 is no longer open',
    );
    const request = await h.runtime.bot.requests.get(grant.requestId);
    expect(request.state).toBe('failed');
    expect(await liveKeys()).not.toContain(request.publicKey);
    expect(await h.runtime.bot.breakGlass.activeOf('erin')).toBeNull();
  });

  it('with the provider answering garbage only the static list applies, and the poll ends access when the incident resolves', async () => {
    pd.mode = 'garbage';
    await sleep(1_100); // past oncall.cacheFor, so the roster asks the provider again
    const refused = errorOf(await h.run('erin', '/vpn breakglass hub1 --incident PT5'));
    expect(refused?.code).toBe('FORBIDDEN');
    expect(refused?.message).toContain('pagerduty could not be asked who is on call');
    expect(refused?.message).toContain('the static roles.oncall list applied');
    const replies = await h.run('frank', '/vpn breakglass hub1 --incident PT5');
    expect(replyOf(replies, 'job.queued')?.text).toContain('the static roles.oncall list applied');
    const grant = granted(replies);
    pd.mode = 'ok';
    const request = await provisioned(grant);
    expect(request.gate.decisions[0]?.basis).toEqual({ kind: 'oncall', source: 'static', incident: 'PT5' });

    pd.incidents.set('PT5', { title: 'disk full', status: 'resolved' });
    const summary = await ended(grant.requestId);
    expect(summary.reply.kind === 'breakglass.ended' && summary.reply.cause).toBe('incident resolved');
    expect(await liveKeys()).not.toContain(request.publicKey);
  });

  it('lets a lead break glass, and ends it at the deadline', async () => {
    const grant = granted(await h.run('alice', '/vpn breakglass hub1 --incident PT2 --for 6s --full'));
    expect(grant).toMatchObject({ basis: 'lead', mode: 'full' });
    const request = await provisioned(grant);
    expect(await liveKeys()).toContain(request.publicKey);
    const summary = await ended(grant.requestId, 30_000);
    expect(summary.reply.kind === 'breakglass.ended' && summary.reply.cause).toBe('deadline reached');
    expect(await liveKeys()).not.toContain(request.publicKey);
  });
});

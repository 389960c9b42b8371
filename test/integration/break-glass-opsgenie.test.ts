/**
 * Break-glass with Opsgenie on a lab hub: on-call from an Opsgenie schedule, the incident checked
 * at its API, and its webhook, which counts only with the configured token and is never believed
 * about the incident: a valid call makes Tunnelgate ask the API, and a closed incident cuts the tunnel.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { handleIncidentWebhook } from '../../src/bot/incident-webhook.js';
import { type HttpEndpoint, startHttpServer } from '../../src/cli/http.js';
import type { Reply } from '../../src/domain/models/reply.js';
import { OPSGENIE_TOKEN_HEADER } from '../../src/oncall/webhooks.js';
import { parseDump } from '../../src/wg/dump.js';
import { capturedLogger } from '../support/captured-logger.js';
import { useLab } from '../support/lab.js';
import { type OncallStandin, startOncallStandin } from '../support/oncall-standin.js';
import { type Harness, replyOf, startHarness } from '../support/tunnelgate.js';

const lab = useLab({ hubs: 1, clients: 0 });
const TOKEN = 'og-webhook-token';
const INCIDENT = '8e3b1c2a-1f4d-4b7e-9a55-0c9a1e2f3d4b';

lab.describe('break-glass with Opsgenie', () => {
  let h: Harness;
  let og: OncallStandin;
  let http: HttpEndpoint;

  beforeAll(async () => {
    og = await startOncallStandin('opsgenie');
    og.schedules.set('ops-schedule', ['erin@example.com']);
    og.incidents.set(INCIDENT, { title: 'queue backlog', status: 'open' });
    h = await startHarness(lab.get(), 'break-glass-og', {
      oncall: [],
      oncallProvider: {
        provider: 'opsgenie',
        apiUrl: og.url,
        schedules: ['ops-schedule'],
        users: { 'erin@example.com': 'erin' },
        pollEvery: '1h',
      },
      env: { OPSGENIE_API_KEY: og.token },
    });
    http = await startHttpServer(
      {
        health: () => h.runtime.health(),
        metrics: h.runtime.metrics,
        webhook: (call) => handleIncidentWebhook(h.runtime.bot, TOKEN, call),
      },
      { host: '127.0.0.1', port: 0, logger: capturedLogger().logger },
    );
  });
  afterAll(async () => {
    await http?.close();
    await h?.stop();
    await og?.close();
  });

  const liveKeys = async () =>
    parseDump((await lab.hub().exec(['wg', 'show', 'wg0', 'dump'])).stdout).peers.map(
      (p) => p.publicKey as string,
    );
  const post = (token: string) =>
    fetch(`${http.url}/webhooks/opsgenie`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [OPSGENIE_TOKEN_HEADER]: token },
      body: JSON.stringify({
        action: 'Close',
        alert: { alertId: 'a-1', message: 'queue backlog' },
        source: { name: 'web' },
      }),
    });

  it('grants the Opsgenie on-call at once, and ends it on a webhook with the token once the incident is closed', async () => {
    expect(replyOf(await h.run('bob', `/vpn breakglass hub1 --incident ${INCIDENT}`), 'error')?.code).toBe(
      'FORBIDDEN',
    );
    const replies = await h.run('erin', `/vpn breakglass hub1 --incident ${INCIDENT}`);
    const granted = replies.find((m) => m.to.type === 'leads')?.reply as Extract<
      Reply,
      { kind: 'breakglass.granted' }
    >;
    expect(granted.incident).toMatchObject({ provider: 'opsgenie', id: INCIDENT, title: 'queue backlog' });
    await h.waitFor((m) => m.reply.kind === 'peer.provisioned' && m.reply.requestId === granted.requestId);
    const request = await h.runtime.bot.requests.get(granted.requestId);
    expect(request.gate.decisions[0]?.basis).toEqual({
      kind: 'oncall',
      source: 'opsgenie',
      incident: INCIDENT,
    });
    expect(await liveKeys()).toContain(request.publicKey);

    // Still open: a valid webhook re-checks and changes nothing.
    expect((await post(TOKEN)).status).toBe(202);
    og.incidents.set(INCIDENT, { title: 'queue backlog', status: 'closed' });
    expect((await post('wrong-token')).status).toBe(401);
    expect(
      await h.runtime.bot.queues.hubQueue('hub1').getJob(`revoke-hub1-${granted.requestId}`),
    ).toBeUndefined();
    expect(await liveKeys()).toContain(request.publicKey);

    expect((await post(TOKEN)).status).toBe(202);
    const summary = await h.waitFor(
      (m) => m.reply.kind === 'breakglass.ended' && m.reply.requestId === granted.requestId,
    );
    expect(summary.reply.kind === 'breakglass.ended' && summary.reply.cause).toBe('incident resolved');
    expect(await liveKeys()).not.toContain(request.publicKey);
  });
});

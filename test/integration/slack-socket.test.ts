import { afterAll, beforeAll, expect, it } from 'vitest';
import { ACTION } from '../../src/adapters/slack/approval-card.js';
import { parseDump } from '../../src/wg/dump.js';
import { useLab } from '../support/lab.js';
import {
  APP_TOKEN,
  APPROVALS_CHANNEL,
  type SlackHarness,
  startSlackHarness,
} from '../support/slack-harness.js';

const lab = useLab({ hubs: 1, clients: 0 });

lab.describe('the Slack adapter in Socket Mode on real Bolt, a Slack stand-in and a lab hub', () => {
  let h: SlackHarness;

  beforeAll(async () => {
    h = await startSlackHarness(lab.get(), 'slack-socket', { socketMode: true });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const ackOf = (envelopeId: string) =>
    h.standin.waitFor((c) => c.method === 'ack' && c.target === envelopeId);
  /** Everything Slack received, as text, except what was sent into `dm`. */
  const everythingOutside = (dm: string) =>
    h.standin.calls
      .filter((c) => c.params.channel !== dm && c.params.channel_id !== dm && c.method !== 'upload')
      .map((c) => JSON.stringify(c.params))
      .join('\n');

  it('opens its connection with the app-level token and no HTTP listener', () => {
    const opened = h.standin.callsTo('apps.connections.open');
    expect(opened).toHaveLength(1);
    expect(opened[0]?.authorization).toBe(`Bearer ${APP_TOKEN}`);
    expect(h.log()).toContain('slack adapter running in Socket Mode');
    expect(h.log()).not.toContain('slack adapter listening');
  });

  it('request envelope acked -> Approve envelope acked -> provisioned on the hub -> config DMd to the requester only', async () => {
    const sent = h.socketCommand('U0BOB', 'request laptop');
    const acked = await ackOf(sent.envelopeId);
    expect(acked.params.envelope_id).toBe(sent.envelopeId);
    const pending = await h.standin.waitFor(
      (c) => c.method === 'response' && sent.responseUrl.endsWith(`/${c.target}`),
    );
    expect(pending.params.response_type).toBe('ephemeral');
    const id = /r-[a-z0-9]{6}/.exec(String(pending.params.text))?.[0] ?? '';
    expect(id).toMatch(/^r-/);
    expect((await h.runtime.bot.requests.get(id)).state).toBe('pending');
    const card = await h.standin.waitFor(
      (c) =>
        c.method === 'chat.postMessage' &&
        c.params.channel === APPROVALS_CHANNEL &&
        String(c.params.text).includes(id),
    );
    expect(String(card.params.blocks)).toContain(ACTION.approve);

    const clicked = h.socketClick('U0ALICE', ACTION.approve, id, String(card.params.ts ?? ''));
    const clickAck = await ackOf(clicked.envelopeId);
    expect(clickAck.params.envelope_id).toBe(clicked.envelopeId);

    const complete = await h.standin.waitFor((c) => c.method === 'files.completeUploadExternal');
    expect(complete.params.channel_id).toBe('D0BOB');
    const conf =
      h.standin
        .callsTo('upload')
        .map((u) => u.bytes?.toString() ?? '')
        .find((text) => text.includes('[Interface]')) ?? '';
    expect(conf).toMatch(/^Address = 10\.66\.1\.2\/32$/m);
    const privateKey = /^PrivateKey = (\S+)$/m.exec(conf)?.[1] ?? '';
    expect(privateKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(h.standin.callsTo('conversations.open').map((c) => c.params.users)).toEqual(['U0BOB']);
    expect(everythingOutside('D0BOB')).not.toContain(privateKey);
    expect(h.log()).not.toContain(privateKey);

    const provisioned = await h.standin.waitFor(
      (c) =>
        c.method === 'chat.update' &&
        c.params.channel === APPROVALS_CHANNEL &&
        String(c.params.blocks).includes('Provisioned'),
    );
    expect(String(provisioned.params.blocks)).toContain('<@U0ALICE>');
    const dump = await lab.hub().exec(['wg', 'show', 'wg0', 'dump']);
    expect(parseDump(dump.stdout).peers.map((p) => p.allowedIps)).toContainEqual(['10.66.1.2/32']);
    expect((await h.runtime.bot.requests.get(id)).state).toBe('provisioned');
    // Every envelope was acknowledged exactly once.
    const acks = h.standin.callsTo('ack').map((c) => c.target);
    expect(acks.sort()).toEqual([sent.envelopeId, clicked.envelopeId].sort());
  });
});

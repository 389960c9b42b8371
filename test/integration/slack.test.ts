import { afterAll, beforeAll, expect, it } from 'vitest';
import { ACTION } from '../../src/adapters/slack/approval-card.js';
import { ROTATE_ACTION } from '../../src/adapters/slack/blocks.js';
import { UserId } from '../../src/core/ids.js';
import { Reply } from '../../src/domain/models/reply.js';
import { RotationStore } from '../../src/store/rotations.js';
import { parseDump } from '../../src/wg/dump.js';
import { useLab } from '../support/lab.js';
import { APPROVALS_CHANNEL, type SlackHarness, startSlackHarness } from '../support/slack-harness.js';

const lab = useLab({ hubs: 1, clients: 0 });

lab.describe('the Slack adapter on real Bolt, a Slack stand-in and a lab hub', () => {
  let h: SlackHarness;

  beforeAll(async () => {
    h = await startSlackHarness(lab.get(), 'slack');
  });
  afterAll(async () => {
    await h?.stop();
  });

  const requestsOf = (user: string) => h.runtime.bot.requests.list({ requester: user });
  const enqueued = () =>
    h.runtime.bot.queues.tasks.getJobCountByTypes('waiting', 'delayed', 'active', 'completed');
  const responsesTo = (url: string) =>
    h.standin.callsTo('response').filter((c) => url.endsWith(`/${c.target}`));
  const cardFor = async (requestId: string) =>
    h.standin.waitFor(
      (c) =>
        c.method === 'chat.postMessage' &&
        c.params.channel === APPROVALS_CHANNEL &&
        String(c.params.text).includes(requestId),
    );
  /** Everything Slack received, as text, except what was sent into `dm`. */
  const everythingOutside = (dm: string) =>
    h.standin.calls
      .filter((c) => c.params.channel !== dm && c.params.channel_id !== dm && c.method !== 'upload')
      .map((c) => JSON.stringify(c.params))
      .join('\n');

  const requestViaSlack = async (user: string, device: string) => {
    const sent = await h.command(user, `request ${device}`);
    expect(sent.status).toBe(200);
    const pending = await h.standin.waitFor(
      (c) => c.method === 'response' && sent.responseUrl.endsWith(`/${c.target}`),
    );
    const id = /r-[a-z0-9]{6}/.exec(String(pending.params.text))?.[0] ?? '';
    expect(id).toMatch(/^r-/);
    return { id, sent, pending };
  };

  it('request -> Approve button -> provisioned on the hub -> config DMd to the requester and nobody else', async () => {
    const { id, pending } = await requestViaSlack('U0BOB', 'laptop');
    expect(pending.params.response_type).toBe('ephemeral');
    const card = await cardFor(id);
    const blocks = String(card.params.blocks);
    expect(blocks).toContain('u0bob-laptop');
    expect(blocks).toContain('10.66.1.2/32');
    expect(blocks).toContain(ACTION.approve);
    expect(blocks).toContain(ACTION.deny);

    const clicked = await h.click('U0ALICE', ACTION.approve, id, '1700000000.000001');
    expect(clicked.status).toBe(200);

    const complete = await h.standin.waitFor((c) => c.method === 'files.completeUploadExternal');
    expect(complete.params.channel_id).toBe('D0BOB');
    const uploads = h.standin.callsTo('upload');
    const conf =
      uploads.map((u) => u.bytes?.toString() ?? '').find((text) => text.includes('[Interface]')) ?? '';
    expect(conf).toMatch(/^Address = 10\.66\.1\.2\/32$/m);
    const privateKey = /^PrivateKey = (\S+)$/m.exec(conf)?.[1] ?? '';
    expect(privateKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const png = uploads.find((u) => u.bytes?.subarray(1, 4).toString() === 'PNG');
    expect(png).toBeDefined();
    expect(h.standin.callsTo('conversations.open').map((c) => c.params.users)).toContain('U0BOB');
    expect(everythingOutside('D0BOB')).not.toContain(privateKey);
    expect(h.log()).not.toContain(privateKey);

    const provisioned = await h.standin.waitFor(
      (c) =>
        c.method === 'chat.update' &&
        c.params.channel === APPROVALS_CHANNEL &&
        String(c.params.blocks).includes('Provisioned'),
    );
    expect(String(provisioned.params.blocks)).toContain('<@U0ALICE>');
    expect(String(provisioned.params.blocks)).not.toContain(ACTION.approve);
    const dump = await lab.get().hubs[0]?.exec(['wg', 'show', 'wg0', 'dump']);
    expect(parseDump(dump?.stdout ?? '').peers.map((p) => p.allowedIps)).toContainEqual(['10.66.1.2/32']);
    expect((await h.runtime.bot.requests.get(id)).state).toBe('provisioned');
  });

  it('refuses a bad signature with 401 and enqueues nothing', async () => {
    const before = await enqueued();
    const sent = await h.command('U0MALLORY', 'request evil', { secret: 'not-the-secret' });
    expect(sent.status).toBe(401);
    expect(await requestsOf('U0MALLORY')).toEqual([]);
    expect(await enqueued()).toBe(before);
  });

  it('refuses a correctly signed request with a stale timestamp', async () => {
    const before = await enqueued();
    const sent = await h.command('U0MALLORY', 'request stale', {
      timestamp: Math.floor(Date.now() / 1000) - 600,
    });
    expect(sent.status).toBe(401);
    expect(await requestsOf('U0MALLORY')).toEqual([]);
    expect(await enqueued()).toBe(before);
  });

  it('acts on a replayed signed request only once (the replay is answered 200 and ignored)', async () => {
    const { body, responseUrl } = h.commandBody('U0DAVE', 'request desktop');
    const headers = h.sign(body);
    const first = await h.send(body, 'application/x-www-form-urlencoded', headers);
    const replay = await h.send(body, 'application/x-www-form-urlencoded', headers);
    expect([first.status, replay.status]).toEqual([200, 200]);
    await h.standin.waitFor((c) => c.method === 'response' && responseUrl.endsWith(`/${c.target}`));
    const again = await h.send(body, 'application/x-www-form-urlencoded', headers);
    expect(again.status).toBe(200);
    expect(await requestsOf('U0DAVE')).toHaveLength(1);
    expect(responsesTo(responseUrl)).toHaveLength(1);
    expect(h.log()).toContain('dropped a replayed request');
  });

  it('stops a replay that appends =x, =y or a bare = to a captured signature (Bolt ignores the tail)', async () => {
    const { body, responseUrl } = h.commandBody('U0ERIN', 'request tablet');
    const headers = h.sign(body);
    const first = await h.send(body, 'application/x-www-form-urlencoded', headers);
    expect(first.status).toBe(200);
    await h.standin.waitFor((c) => c.method === 'response' && responseUrl.endsWith(`/${c.target}`));
    for (const tail of ['=x', '=y', '=']) {
      const variant = { ...headers, 'x-slack-signature': `${headers['x-slack-signature']}${tail}` };
      expect((await h.send(body, 'application/x-www-form-urlencoded', variant)).status).toBe(200);
    }
    expect(await requestsOf('U0ERIN')).toHaveLength(1);
    expect(responsesTo(responseUrl)).toHaveLength(1);
    expect(h.log()).toContain('non-canonical signature');
  });

  it('runs nothing for a request with a tampered-tail signature even when it is the first one seen', async () => {
    const { body, responseUrl } = h.commandBody('U0FRANK', 'request phone');
    const headers = h.sign(body);
    const variant = { ...headers, 'x-slack-signature': `${headers['x-slack-signature']}=x` };
    expect((await h.send(body, 'application/x-www-form-urlencoded', variant)).status).toBe(200);
    expect((await h.send(body, 'application/x-www-form-urlencoded', headers)).status).toBe(200);
    await h.standin.waitFor((c) => c.method === 'response' && responseUrl.endsWith(`/${c.target}`));
    expect(await requestsOf('U0FRANK')).toHaveLength(1);
    expect(responsesTo(responseUrl)).toHaveLength(1);
  });

  it('refuses a correctly signed request stamped more than a minute in the future (pre-signed for later replay)', async () => {
    const before = await enqueued();
    const sent = await h.command('U0MALLORY', 'request later', {
      timestamp: Math.floor(Date.now() / 1000) + 600,
    });
    expect(sent.status).toBe(200);
    expect(await requestsOf('U0MALLORY')).toEqual([]);
    expect(await enqueued()).toBe(before);
    expect(responsesTo(sent.responseUrl)).toEqual([]);
    expect(h.log()).toContain('timestamp in the future');
  });

  it('refuses self-approval and non-lead approval by button, ephemerally, changing nothing', async () => {
    const { id } = await requestViaSlack('U0ALICE', 'tablet');
    const own = await h.click('U0ALICE', ACTION.approve, id, '1700000000.000002');
    expect(own.status).toBe(200);
    const refusal = await h.standin.waitFor(
      (c) => c.method === 'response' && own.responseUrl.endsWith(`/${c.target}`),
    );
    expect(refusal.params.response_type).toBe('ephemeral');
    expect(refusal.params.replace_original).toBe(false);
    expect(String(refusal.params.text)).toContain('cannot approve your own request');

    const other = await h.click('U0CAROL', ACTION.approve, id, '1700000000.000002');
    const refused = await h.standin.waitFor(
      (c) => c.method === 'response' && other.responseUrl.endsWith(`/${c.target}`),
    );
    expect(refused.params.response_type).toBe('ephemeral');
    expect(String(refused.params.text)).toContain('only leads can approve');
    const request = await h.runtime.bot.requests.get(id);
    expect(request.state).toBe('pending');
    expect(request.gate.decisions).toEqual([]);
  });

  it('denies through the Deny button and its reason modal; the card shows who denied and why', async () => {
    const { id } = await requestViaSlack('U0ERIN', 'phone');
    await cardFor(id);
    await h.click('U0ALICE', ACTION.deny, id, '1700000000.000003');
    const modal = await h.standin.waitFor(
      (c) => c.method === 'views.open' && String(c.params.view).includes(id),
    );
    const view = JSON.parse(String(modal.params.view)) as { callback_id: string; private_metadata: string };
    expect(view.callback_id).toBe(ACTION.denyModal);
    // The modal's reason passes the same schema as text: line separators and bidi overrides are refused.
    for (const value of ['not\u2028needed', 'not \u2067needed', 'not \u202eneeded']) {
      const spoofed = await h.submitModal('U0ALICE', view.callback_id, view.private_metadata, {
        [ACTION.reasonBlock]: { [ACTION.reasonInput]: { type: 'plain_text_input', value } },
      });
      expect(spoofed.body).toContain('bidi overrides');
      expect((await h.runtime.bot.requests.get(id)).gate.decisions).toEqual([]);
    }
    const submitted = await h.submitModal('U0ALICE', view.callback_id, view.private_metadata, {
      [ACTION.reasonBlock]: {
        [ACTION.reasonInput]: { type: 'plain_text_input', value: 'not <!channel> needed' },
      },
    });
    expect(submitted.status).toBe(200);
    const denied = await h.standin.waitFor(
      (c) =>
        c.method === 'chat.update' &&
        String(c.params.blocks).includes('Denied') &&
        String(c.params.text).includes(id),
    );
    expect(String(denied.params.blocks)).toContain('not &lt;!channel&gt; needed');
    expect((await h.runtime.bot.requests.get(id)).state).toBe('denied');
  });

  it('retries a post that Slack answers 429, after its Retry-After', async () => {
    h.standin.rateLimitOnce('chat.postMessage', 1);
    const { id } = await requestViaSlack('U0FRANK', 'laptop');
    const card = await cardFor(id);
    const attempts = h.standin.callsTo('chat.postMessage', true);
    const limited = attempts.findIndex((c) => c.rateLimited === true);
    expect(limited).toBeGreaterThanOrEqual(0);
    expect(attempts.indexOf(card)).toBeGreaterThan(limited);
    expect(h.log()).toContain('rate limited; retrying after Retry-After');
  });

  it('answers the slash command before the hub job it starts has run', async () => {
    const { id } = await requestViaSlack('U0GRACE', 'laptop');
    const hubQueue = h.runtime.bot.queues.hubQueue('hub1');
    await hubQueue.pause();
    try {
      const sent = await h.command('U0ALICE', `approve ${id}`);
      expect(sent.status).toBe(200);
      expect(sent.body).toBe('');
      expect((await h.runtime.bot.requests.get(id)).state).not.toBe('provisioned');
      const approved = await h.standin.waitFor(
        (c) => c.method === 'response' && sent.responseUrl.endsWith(`/${c.target}`),
      );
      expect(String(approved.params.text)).toContain('provisioning is queued');
      expect(await hubQueue.getJobCountByTypes('waiting', 'prioritized')).toBeGreaterThan(0);
      expect((await h.runtime.bot.requests.get(id)).state).toBe('approved');
    } finally {
      await hubQueue.resume();
    }
    await h.standin.waitFor(
      (c) => c.method === 'files.completeUploadExternal' && c.params.channel_id === 'D0GRACE',
    );
  });

  it("names a peer after the Slack user id, so a copied display name cannot squat another user's peer name", async () => {
    h.standin.addUser('U0ZOE', 'alice');
    const { id, pending } = await requestViaSlack('U0ZOE', 'laptop');
    expect(String(pending.params.text)).toContain('u0zoe-laptop');
    const request = await h.runtime.bot.requests.get(id);
    expect(request.peer).toBe('u0zoe-laptop');
    expect(request.requester).toBe('U0ZOE');
    expect(String((await cardFor(id)).params.blocks)).toContain('<@U0ZOE>');

    // A second user with the same display name gets a peer of their own, never a clash.
    h.standin.addUser('U0ZED', 'alice');
    const other = await requestViaSlack('U0ZED', 'laptop');
    expect((await h.runtime.bot.requests.get(other.id)).peer).toBe('u0zed-laptop');
    expect(await requestsOf('U0ZOE')).toHaveLength(1);
  });

  it('marks a user deactivated in Slack as departed and tells the leads once what they still hold', async () => {
    const { id } = await requestViaSlack('U0IVAN', 'laptop');
    await h.click('U0ALICE', ACTION.approve, id, '1700000000.000007');
    await h.standin.waitFor(
      (c) => c.method === 'files.completeUploadExternal' && c.params.channel_id === 'D0IVAN',
    );
    const userChange = (deleted: boolean) => {
      const body = JSON.stringify({
        token: 'deprecated',
        team_id: 'T0STANDIN',
        api_app_id: 'A0TUNNELGATE',
        type: 'event_callback',
        event_id: `Ev${Date.now()}${deleted ? 'D' : 'A'}`,
        event_time: Math.floor(Date.now() / 1000),
        event: {
          type: 'user_change',
          user: { id: 'U0IVAN', name: 'ivan', deleted },
          event_ts: `${Date.now() / 1000}`,
        },
      });
      return h.send(body, 'application/json', h.sign(body));
    };
    const notices = () =>
      h.standin.calls.filter(
        (c) => c.method === 'chat.postMessage' && String(c.params.text).includes('/vpn offboard U0IVAN'),
      );
    expect((await userChange(false)).status).toBe(200);
    expect((await userChange(true)).status).toBe(200);
    const notice = await h.standin.waitFor(
      (c) => c.method === 'chat.postMessage' && String(c.params.text).includes('/vpn offboard U0IVAN'),
    );
    expect(notice.params.channel).toBe(APPROVALS_CHANNEL);
    expect(String(notice.params.text)).toContain(
      'was deactivated in Slack and still has 1 peer and 0 pending requests',
    );
    expect(await h.runtime.bot.redis.sismember(h.runtime.bot.keys.departed, 'U0IVAN')).toBe(1);
    // The same deactivation delivered again (Slack retries events) tells nobody twice.
    expect((await userChange(true)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(notices()).toHaveLength(1);
    // Nothing was removed: offboarding stays a lead's decision.
    expect(await h.runtime.bot.inventory.findByName(['hub1'], 'u0ivan-laptop')).not.toBeNull();
  });

  it('delivers a key reminder with a Rotate now button that only the owner or a lead can use', async () => {
    const { id } = await requestViaSlack('U0HEIDI', 'laptop');
    await h.click('U0ALICE', ACTION.approve, id, '1700000000.000004');
    await h.standin.waitFor(
      (c) => c.method === 'files.completeUploadExternal' && c.params.channel_id === 'D0HEIDI',
    );
    const peer = 'u0heidi-laptop';
    await h.outlet.deliver({
      to: { type: 'user', id: UserId.parse('U0HEIDI') },
      private: true,
      reply: Reply.parse({
        kind: 'key.reminder',
        stage: 'due',
        peer,
        hub: 'hub1',
        owner: 'U0HEIDI',
        keyCreatedAt: '2025-01-01T00:00:00.000Z',
        overdueAt: '2025-04-01T00:00:00.000Z',
      }),
    });
    const reminder = await h.standin.waitFor(
      (c) =>
        c.method === 'chat.postMessage' &&
        c.params.channel === 'D0HEIDI' &&
        String(c.params.blocks).includes(ROTATE_ACTION),
    );
    const blocks = JSON.parse(String(reminder.params.blocks)) as Array<{
      type: string;
      text?: { text: string };
      elements?: Array<{ action_id: string; value: string; text: { text: string } }>;
    }>;
    expect(blocks[0]?.text?.text).toContain('due for rotation');
    const button = blocks.find((b) => b.type === 'actions')?.elements?.[0];
    expect(button).toMatchObject({ action_id: ROTATE_ACTION, value: peer, text: { text: 'Rotate now' } });

    const rotations = new RotationStore(h.runtime.bot.redis, h.runtime.bot.keys);
    const other = await h.click('U0CAROL', ROTATE_ACTION, peer, '1700000000.000005');
    expect(other.status).toBe(200);
    const refused = await h.standin.waitFor(
      (c) => c.method === 'response' && other.responseUrl.endsWith(`/${c.target}`),
    );
    expect(refused.params.response_type).toBe('ephemeral');
    expect(String(refused.params.text)).toContain(`only U0HEIDI or a lead can rotate ${peer}`);
    expect(await rotations.find('hub1', peer)).toBeNull();

    const own = await h.click('U0HEIDI', ROTATE_ACTION, peer, String(reminder.params.ts ?? ''), 'D0HEIDI');
    expect(own.status).toBe(200);
    const queued = await h.standin.waitFor(
      (c) => c.method === 'response' && own.responseUrl.endsWith(`/${c.target}`),
    );
    expect(queued.params.response_type).toBe('ephemeral');
    expect(String(queued.params.text)).toContain(`rotating the key of ${peer}`);
    expect(await rotations.find('hub1', peer)).toMatchObject({ owner: 'U0HEIDI', by: 'U0HEIDI' });
  });
});

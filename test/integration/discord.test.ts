import { afterAll, beforeAll, expect, it } from 'vitest';
import { denial } from '../../src/domain/gate.js';
import { slowWgSet } from '../../src/lab/faults.js';
import { RotationStore } from '../../src/store/rotations.js';
import { parseDump } from '../../src/wg/dump.js';
import { runReminderCheck } from '../../src/workers/reminders.js';
import {
  APPLICATION,
  APPROVALS_CHANNEL,
  type DiscordHarness,
  GUILD,
  startDiscordHarness,
  USERS,
} from '../support/discord-harness.js';
import type { Recorded, RestRecord } from '../support/discord-standin.js';
import { useLab } from '../support/lab.js';
import { waitUntil } from '../support/wait.js';

const lab = useLab({ hubs: 1, clients: 0 });

lab.describe('the Discord adapter on real discord.js against a stand-in for Discord', () => {
  let h: DiscordHarness;
  beforeAll(async () => {
    h = await startDiscordHarness(lab.get(), 'discord');
  });
  afterAll(async () => {
    await h?.stop();
  });

  const hub = () => lab.hub();
  const hubAddresses = async () =>
    parseDump((await hub().exec(['wg', 'show', 'wg0', 'dump'])).stdout).peers.flatMap((p) =>
      p.allowedIps.map(String),
    );

  const isRest = (r: Recorded): r is RestRecord => r.type === 'rest';
  const text = (r: RestRecord) => JSON.stringify(r.body);
  /** The interaction callback (the answer or deferral) of an interaction. */
  const callbackOf = (id: string) =>
    h.standin.waitFor(
      (r): r is RestRecord => isRest(r) && r.method === 'POST' && r.path.startsWith(`/interactions/${id}/`),
    );
  /** The edit that replaces an interaction's deferred reply. */
  const answerOf = (id: string) =>
    h.standin.waitFor(
      (r): r is RestRecord =>
        isRest(r) && r.method === 'PATCH' && r.path.startsWith(`/webhooks/${APPLICATION}/token-${id}-`),
    );
  const reviewOf = async (requestId: string) => {
    await h.standin.waitFor(
      (r) => isRest(r) && r.path === `/channels/${APPROVALS_CHANNEL}/messages` && text(r).includes(requestId),
    );
    const message = h.standin
      .posted(APPROVALS_CHANNEL)
      .find((m) => JSON.stringify(m.embeds).includes(`request ${requestId}`));
    if (message === undefined) throw new Error(`no review message for ${requestId}`);
    return message;
  };
  const request = async (user: keyof typeof USERS, device: string) => {
    const id = h.standin.slash(USERS[user].id, 'request', { device, reason: 'on-call week' });
    const answer = await answerOf(id);
    const requestId = /r-[a-z0-9]{6}/.exec(text(answer))?.[0];
    if (requestId === undefined) throw new Error(`no request id in ${text(answer)}`);
    return requestId;
  };
  const customIds = (message: Record<string, unknown>) =>
    JSON.stringify(message.components).match(/tg:[a-z-]+:[^"]+/g) ?? ([] as string[]);

  it('request -> Approve by a lead -> provisioned on the hub -> config and QR code DMed to the requester only', async () => {
    const slash = h.standin.slash(USERS.bob.id, 'request', { device: 'laptop', reason: 'first day' });
    expect((await callbackOf(slash)).body).toEqual({ type: 5, data: { flags: 64 } });
    const answer = await answerOf(slash);
    expect(text(answer)).toContain('waiting for approval');
    const requestId = /r-[a-z0-9]{6}/.exec(text(answer))?.[0] ?? '';

    const review = await reviewOf(requestId);
    expect(customIds(review)).toEqual([`tg:approve:${requestId}`, `tg:deny:${requestId}`]);
    expect(JSON.stringify(review.embeds)).toContain(`<@${USERS.bob.id}>`);

    const click = h.standin.click(USERS.alice.id, String(review.id), `tg:approve:${requestId}`);
    expect((await callbackOf(click)).body).toEqual({ type: 5, data: { flags: 64 } });
    expect(text(await answerOf(click))).toContain('provisioning is queued');

    const dm = await h.standin.waitFor(
      (r): r is RestRecord => isRest(r) && r.files.some((f) => f.name === `${USERS.bob.id}-laptop.conf`),
    );
    expect(dm.path).toBe(`/channels/${h.standin.dmChannelOf(USERS.bob.id)}/messages`);
    const conf = dm.files.find((f) => f.name.endsWith('.conf'))?.data.toString() ?? '';
    expect(conf).toMatch(/^Address = 10\.66\.1\.2\/32$/m);
    const privateKey = /^PrivateKey = (\S+)$/m.exec(conf)?.[1] ?? '';
    expect(privateKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const png = dm.files.find((f) => f.name.endsWith('-qr.png'))?.data;
    expect(png?.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    // The key went nowhere else: not to the channel, not to the approver, not in any other request.
    const carrying = h.standin
      .rest()
      .filter(
        (r) => text(r).includes(privateKey) || r.files.some((f) => f.data.toString().includes(privateKey)),
      );
    expect(carrying).toEqual([dm]);

    expect(await hubAddresses()).toContain('10.66.1.2/32');
    await h.standin.waitFor(
      (r) =>
        isRest(r) &&
        r.method === 'PATCH' &&
        r.path === `/channels/${APPROVALS_CHANNEL}/messages/${review.id}` &&
        text(r).includes('provisioned'),
    );
    expect(customIds(h.standin.message(String(review.id)) ?? {})).toEqual([]);
  });

  it('refuses /vpn from another guild the bot joined (global registration) ephemerally, creating nothing', async () => {
    const slash = h.standin.slash(
      USERS.carol.id,
      'request',
      { device: 'intruder', reason: 'x' },
      {
        guildId: '499999999999999999',
      },
    );
    const answer = await callbackOf(slash);
    expect(answer.body).toMatchObject({ type: 4, data: { flags: 64 } });
    expect(text(answer)).toContain('this Tunnelgate does not serve this server');
    expect(await h.runtime.bot.requests.list({ requester: USERS.carol.id })).toEqual([]);
  });

  it('refuses /vpn sent in a direct message, where no guild roles apply, ephemerally, creating nothing', async () => {
    const slash = h.standin.slash(
      USERS.carol.id,
      'request',
      { device: 'dm-laptop', reason: 'x' },
      {
        dmChannel: '499999999999999998',
      },
    );
    const answer = await callbackOf(slash);
    expect(answer.body).toMatchObject({ type: 4, data: { flags: 64 } });
    expect(text(answer)).toContain('/vpn does not run in direct messages');
    expect(await h.runtime.bot.requests.list({ requester: USERS.carol.id })).toEqual([]);
  });

  it('refuses self-approval and clicks by non-leads ephemerally; Deny asks a lead for a reason', async () => {
    const own = await request('alice', 'tablet');
    const ownReview = await reviewOf(own);
    const self = h.standin.click(USERS.alice.id, String(ownReview.id), `tg:approve:${own}`);
    expect((await callbackOf(self)).body).toEqual({ type: 5, data: { flags: 64 } });
    expect(text(await answerOf(self))).toContain('you cannot approve your own request');

    const carols = h.standin.click(USERS.carol.id, String(ownReview.id), `tg:approve:${own}`);
    expect(text(await answerOf(carols))).toContain('only leads can approve requests');

    const carolDeny = h.standin.click(USERS.carol.id, String(ownReview.id), `tg:deny:${own}`);
    const refused = await callbackOf(carolDeny);
    expect(refused.body).toMatchObject({ type: 4, data: { flags: 64 } });
    expect(text(refused)).toContain('only leads can deny requests');
    expect((await h.runtime.bot.requests.get(own)).state).toBe('pending');
    expect((await h.runtime.bot.requests.get(own)).gate.decisions).toEqual([]);

    // Rita is a lead by her guild role alone.
    const ritaDeny = h.standin.click(USERS.rita.id, String(ownReview.id), `tg:deny:${own}`);
    const modal = await callbackOf(ritaDeny);
    expect(modal.body).toMatchObject({ type: 9, data: { custom_id: `tg:deny-reason:${own}` } });
    // The modal's reason passes the same schema as text: a bidi override or line separator is refused.
    for (const reason of ['use the \u202eshared laptop', 'use the\u2028shared laptop']) {
      const spoofed = h.standin.submitModal(USERS.rita.id, `tg:deny-reason:${own}`, { reason });
      expect(text(await answerOf(spoofed))).toContain('bidi overrides');
      expect((await h.runtime.bot.requests.get(own)).gate.decisions).toEqual([]);
    }
    const submit = h.standin.submitModal(USERS.rita.id, `tg:deny-reason:${own}`, {
      reason: 'use the shared laptop',
    });
    expect(text(await answerOf(submit))).toContain('denied');
    const denied = await h.runtime.bot.requests.get(own);
    expect(denied.state).toBe('denied');
    expect(denial(denied.gate)).toMatchObject({ by: USERS.rita.id, reason: 'use the shared laptop' });
    await h.standin.waitFor(
      (r) =>
        isRest(r) &&
        r.method === 'PATCH' &&
        r.path.endsWith(`/messages/${ownReview.id}`) &&
        text(r).includes('denied'),
    );
    expect(customIds(h.standin.message(String(ownReview.id)) ?? {})).toEqual([]);
  });

  it('answers a click before a slow hub finishes provisioning', async () => {
    const undoSlow = await slowWgSet(hub(), 4);
    try {
      const requestId = await request('dan', 'desktop');
      const review = await reviewOf(requestId);
      const click = h.standin.click(USERS.lena.id, String(review.id), `tg:approve:${requestId}`);
      const callback = await callbackOf(click);
      const answer = await answerOf(click);
      const dm = await h.standin.waitFor(
        (r): r is RestRecord => isRest(r) && r.files.some((f) => f.name === `${USERS.dan.id}-desktop.conf`),
      );
      expect(callback.seq).toBeLessThan(answer.seq);
      expect(answer.seq).toBeLessThan(dm.seq);
      expect((await h.runtime.bot.requests.get(requestId)).state).toBe('provisioned');
    } finally {
      await undoSlow();
    }
  });

  it('resumes the gateway session after the connection drops, and the next command works', async () => {
    const identifies = () => h.standin.log.filter((r) => r.type === 'gateway' && r.op === 2).length;
    expect(identifies()).toBe(1);
    const before = h.standin.log.length;
    h.standin.dropConnection(4000);
    const resume = await h.standin.waitFor((r) => r.type === 'gateway' && r.op === 6 && r.seq > before);
    expect(resume.type === 'gateway' && resume.d).toMatchObject({
      session_id: expect.any(String),
      seq: expect.any(Number),
    });

    const status = h.standin.slash(USERS.bob.id, 'status');
    expect((await callbackOf(status)).body).toEqual({ type: 5, data: { flags: 64 } });
    expect(text(await answerOf(status))).toContain('reading the hubs');
    // The job's result arrives as a follow-up on the same interaction token.
    const followUp = await h.standin.waitFor(
      (r): r is RestRecord =>
        isRest(r) && r.method === 'POST' && r.path.startsWith(`/webhooks/${APPLICATION}/token-${status}-`),
    );
    expect(text(followUp)).toContain(`${USERS.bob.id}-laptop`);
    expect(followUp.body).toMatchObject({ flags: 64 });
    expect(identifies()).toBe(1);
  });

  it('asks the leads to confirm offboarding when a member with peers leaves; the button offboards', async () => {
    h.standin.dispatch('GUILD_MEMBER_REMOVE', { guild_id: GUILD, user: h.standin.userObject(USERS.bob) });
    await h.standin.waitFor(
      (r) =>
        isRest(r) &&
        r.path === `/channels/${APPROVALS_CHANNEL}/messages` &&
        text(r).includes(`tg:offboard:${USERS.bob.id}`),
    );
    const prompt = h.standin
      .posted(APPROVALS_CHANNEL)
      .find((m) => customIds(m).includes(`tg:offboard:${USERS.bob.id}`));
    expect(JSON.stringify(prompt?.embeds)).toContain('left the server');
    expect(await hubAddresses()).toContain('10.66.1.2/32');

    const carols = h.standin.click(USERS.carol.id, String(prompt?.id), `tg:offboard:${USERS.bob.id}`);
    expect(text(await answerOf(carols))).toContain('only leads can offboard users');
    const click = h.standin.click(USERS.lena.id, String(prompt?.id), `tg:offboard:${USERS.bob.id}`);
    expect(text(await answerOf(click))).toContain(`offboarding ${USERS.bob.id}: 1 peer(s)`);
    const deadline = Date.now() + 30_000;
    while ((await hubAddresses()).includes('10.66.1.2/32') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(await hubAddresses()).not.toContain('10.66.1.2/32');
  });

  it('with policy.offboardOnLeave, offboards a member who loses the engineer role without asking', async () => {
    h.config.policy.offboardOnLeave = true;
    const peerOf = async () =>
      (await h.runtime.bot.inventory.listAll(['hub1'])).find((p) => p.owner === USERS.dan.id)?.address;
    const address = String(await peerOf());
    expect(await hubAddresses()).toContain(address);
    const member = h.standin.member(USERS.dan.id);
    h.standin.dispatch('GUILD_MEMBER_UPDATE', {
      guild_id: GUILD,
      user: h.standin.userObject(member),
      roles: [],
      joined_at: '2024-01-01T00:00:00.000Z',
      deaf: false,
      mute: false,
      flags: 0,
    });
    await h.standin.waitFor(
      (r) =>
        isRest(r) &&
        r.path === `/channels/${APPROVALS_CHANNEL}/messages` &&
        text(r).includes('lost the engineer role: offboarding automatically'),
    );
    const deadline = Date.now() + 30_000;
    while ((await hubAddresses()).includes(address) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(await hubAddresses()).not.toContain(address);
    const entries = await h.runtime.bot.audit.tail(20);
    expect(entries.find((e) => e.action === 'offboard' && e.target === USERS.dan.id)?.actor).toBe(
      'discord-leave',
    );
    // No button to confirm: it already happened.
    expect(
      h.standin.posted(APPROVALS_CHANNEL).some((m) => customIds(m).includes(`tg:offboard:${USERS.dan.id}`)),
    ).toBe(false);
  });

  it('/vpn diagnose <hub> is deferred, then the report follows as an embed with a field per playbook step', async () => {
    const slash = h.standin.slash(USERS.alice.id, 'diagnose', { target: 'hub1' });
    const callback = await callbackOf(slash);
    expect(callback.body).toEqual({ type: 5, data: { flags: 64 } });
    expect(text(await answerOf(slash))).toContain('diagnosing hub1');
    const followUp = await h.standin.waitFor(
      (r): r is RestRecord =>
        isRest(r) &&
        r.method === 'POST' &&
        r.path.startsWith(`/webhooks/${APPLICATION}/token-${slash}-`) &&
        text(r).includes('Diagnosis of hub hub1'),
    );
    expect(callback.seq).toBeLessThan(followUp.seq);
    expect(followUp.body).toMatchObject({ flags: 64 });
    const [embed] = (followUp.body?.embeds ?? []) as { fields: { name: string }[] }[];
    expect(embed?.fields.map((f) => f.name.replace(/^\S+ /, ''))).toEqual([
      '1. reachability',
      '2. handshake',
      '3. tunnel',
      '4. routing',
      '5. performance',
    ]);
  });

  it('a key reminder carries "Rotate now": the owner\'s click starts a rotation, anyone else is refused', async () => {
    const requestId = await request('carol', 'phone');
    const review = await reviewOf(requestId);
    h.standin.click(USERS.alice.id, String(review.id), `tg:approve:${requestId}`);
    const peer = `${USERS.carol.id}-phone`;
    await h.standin.waitFor((r) => isRest(r) && r.files.some((f) => f.name === `${peer}.conf`));
    const record = await h.runtime.bot.inventory.findByName(['hub1'], peer);
    if (record === null) throw new Error(`no ${peer}`);
    // A key past policy.keyMaxAge (90 days): the owner and the leads are reminded.
    await h.runtime.bot.inventory.put({
      ...record,
      createdAt: new Date(Date.now() - 100 * 86_400_000).toISOString(),
    });
    expect((await runReminderCheck(h.runtime.worker)).sent).toContain(`${peer}:overdue`);

    const button = `tg:rotate:${peer}`;
    const carolsDm = h.standin.dmChannelOf(USERS.carol.id) ?? '';
    await h.standin.waitFor(
      (r) => isRest(r) && r.path === `/channels/${carolsDm}/messages` && text(r).includes(button),
    );
    const dm = h.standin.posted(carolsDm).find((m) => customIds(m).includes(button));
    expect(JSON.stringify(dm?.embeds)).toContain('overdue');
    await h.standin.waitFor(
      (r) => isRest(r) && r.path === `/channels/${APPROVALS_CHANNEL}/messages` && text(r).includes(button),
    );
    const toLeads = h.standin.posted(APPROVALS_CHANNEL).find((m) => customIds(m).includes(button));

    const bobs = h.standin.click(USERS.bob.id, String(toLeads?.id), button);
    expect((await callbackOf(bobs)).body).toEqual({ type: 5, data: { flags: 64 } });
    expect(text(await answerOf(bobs))).toContain(`only ${USERS.carol.id} or a lead can rotate ${peer}`);
    const rotations = new RotationStore(h.runtime.bot.redis, h.runtime.bot.keys);
    expect(await rotations.find('hub1', peer)).toBeNull();

    const click = h.standin.click(USERS.carol.id, String(dm?.id), button);
    expect((await callbackOf(click)).body).toEqual({ type: 5, data: { flags: 64 } });
    expect(text(await answerOf(click))).toContain(`rotating the key of ${peer}`);
    await h.standin.waitFor((r) => isRest(r) && text(r).includes(`A new key for ${peer} on hub1 is staged`));
    expect(await rotations.find('hub1', peer)).toMatchObject({
      by: USERS.carol.id,
      oldPublicKey: record.publicKey,
      state: 'staged',
    });
  });

  it('a config DM Discord refuses keeps the sealed key, tells the leads and the owner how to fetch it again, and is retried until it arrives', async () => {
    const carol = USERS.carol.id;
    const peer = `${carol}-tablet`;
    const confName = `${peer}.conf`;
    const confTo =
      (seqAfter: number) =>
      (r: Recorded): r is RestRecord =>
        isRest(r) && r.seq > seqAfter && r.files.some((f) => f.name === confName);
    h.standin.setDmsOpen(carol, false);
    const requestId = await request('carol', 'tablet');
    const review = await reviewOf(requestId);
    h.standin.click(USERS.alice.id, String(review.id), `tg:approve:${requestId}`);
    const refused = await h.standin.waitFor(confTo(0));
    expect(refused.path).toBe(`/channels/${h.standin.dmChannelOf(carol)}/messages`);
    const told = await h.standin.waitFor(
      (r): r is RestRecord =>
        isRest(r) &&
        r.path === `/channels/${APPROVALS_CHANNEL}/messages` &&
        text(r).includes(`The config of ${peer} could not be delivered to its owner ${carol}`),
    );
    expect(text(told)).toContain(`/vpn resend ${peer}`);
    // The owner is told too (by DM, which Discord refuses while their DMs stay closed).
    await h.standin.waitFor(
      (r): r is RestRecord =>
        isRest(r) &&
        r.path === refused.path &&
        text(r).includes('To fetch it again') &&
        text(r).includes(`/vpn resend ${peer}`),
    );
    const sealed = h.runtime.bot.keys.sealedKey(requestId);
    expect(await h.runtime.bot.redis.exists(sealed)).toBe(1);
    // Nothing else carries the key: the refused DM was the only message with the file.
    expect(
      h.standin
        .rest()
        .filter((r) => r.files.some((f) => f.name === confName))
        .every((r) => r.path === refused.path),
    ).toBe(true);

    const opened = h.standin.rest().at(-1)?.seq ?? 0;
    h.standin.setDmsOpen(carol, true);
    const delivered = await h.standin.waitFor(confTo(opened));
    expect(delivered.path).toBe(refused.path);
    expect(delivered.files.find((f) => f.name === confName)?.data.toString()).toMatch(
      /^PrivateKey = [A-Za-z0-9+/]{43}=$/m,
    );
    await waitUntil(
      'the sealed key to go once delivered',
      10_000,
      async () => (await h.runtime.bot.redis.exists(sealed)) === 0,
    );
    expect(await h.runtime.bot.redis.exists(h.runtime.bot.keys.pendingConfig('hub1', peer))).toBe(0);

    // Delivered, nothing is kept: resend says so.
    const resend = h.standin.slash(carol, 'resend', { peer });
    expect(text(await answerOf(resend))).toContain(`there is no undelivered config of ${peer}`);
  });

  it('/vpn resend delivers a kept config again once the owner allows DMs; only the owner may ask', async () => {
    const owner = USERS.carol.id;
    const peer = `${owner}-desk`;
    const confName = `${peer}.conf`;
    h.standin.setDmsOpen(owner, false);
    const requestId = await request('carol', 'desk');
    const review = await reviewOf(requestId);
    h.standin.click(USERS.alice.id, String(review.id), `tg:approve:${requestId}`);
    await h.standin.waitFor(
      (r): r is RestRecord =>
        isRest(r) &&
        r.path === `/channels/${APPROVALS_CHANNEL}/messages` &&
        text(r).includes(`The config of ${peer} could not be delivered`),
    );
    const other = h.standin.slash(USERS.bob.id, 'resend', { peer });
    expect(text(await answerOf(other))).toContain(`you have no peer ${peer}`);
    const opened = h.standin.rest().at(-1)?.seq ?? 0;
    h.standin.setDmsOpen(owner, true);
    const resend = h.standin.slash(owner, 'resend', { peer });
    expect(text(await answerOf(resend))).toContain(
      `sending the config of ${peer} to you again by direct message`,
    );
    const delivered = await h.standin.waitFor(
      (r): r is RestRecord => isRest(r) && r.seq > opened && r.files.some((f) => f.name === confName),
    );
    expect(delivered.path).toBe(`/channels/${h.standin.dmChannelOf(owner)}/messages`);
    await waitUntil(
      'the sealed key to go once delivered',
      10_000,
      async () => (await h.runtime.bot.redis.exists(h.runtime.bot.keys.sealedKey(requestId))) === 0,
    );
  });
});

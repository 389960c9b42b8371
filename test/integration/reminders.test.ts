import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Runtime, startRuntime } from '../../src/cli/runtime.js';
import { createLogger } from '../../src/core/logger.js';
import { runReminderCheck } from '../../src/workers/reminders.js';
import { useLab } from '../support/lab.js';
import { type Harness, replyOf, startHarness } from '../support/tunnelgate.js';

const lab = useLab({ hubs: 1, clients: 0 });
const DAY = 86_400_000;

lab.describe('key-age reminders and idle peers on a lab hub', () => {
  let h: Harness;
  const replicas: Runtime[] = [];

  beforeAll(async () => {
    h = await startHarness(lab.get(), 'reminders', {
      policy: { keyMaxAge: '10d', reminderLead: '3d', overdueGrace: '2d', idleAfter: '1d' },
    });
  });
  afterAll(async () => {
    for (const replica of replicas) await replica.close();
    await h?.stop();
  });

  const provision = async (user: string, device: string) => {
    const id = replyOf(await h.run(user, `/vpn request ${device}`), 'request.pending')?.request.id ?? '';
    await h.run('alice', `/vpn approve ${id}`);
    await h.waitFor((m) => m.reply.kind === 'peer.provisioned' && m.reply.requestId === id);
  };
  /** Makes a peer's key `days` old, as if it had been provisioned then. */
  const age = async (peer: string, days: number) => {
    const record = await h.runtime.bot.inventory.findByName(['hub1'], peer);
    if (record === null) throw new Error(`no ${peer}`);
    await h.runtime.bot.inventory.put({
      ...record,
      createdAt: new Date(Date.now() - days * DAY).toISOString(),
    });
  };
  const reminders = (to: { type: 'user'; id: string } | { type: 'leads' }, peer: string, stage: string) =>
    h.messages.filter(
      (m) =>
        m.reply.kind === 'key.reminder' &&
        m.reply.peer === peer &&
        m.reply.stage === stage &&
        JSON.stringify(m.to) === JSON.stringify(to),
    );

  it('one scheduler across several processes reminds each owner once, escalates overdue keys to leads, and lists idle peers', async () => {
    await provision('bob', 'laptop');
    await provision('dave', 'desk');
    await provision('erin', 'tablet');
    await age('bob-laptop', 8);
    await age('dave-desk', 11);
    // A request denied 31 days ago (default keepFinished 30d) is pruned by the same scheduled run.
    const denied = replyOf(await h.run('frank', '/vpn request phone'), 'request.pending')?.request.id ?? '';
    await h.run('alice', `/vpn deny ${denied} not needed`);
    const longAgo = new Date(Date.now() - 31 * DAY);
    const { redis, keys } = h.runtime.bot;
    const made = await h.runtime.bot.requests.update(denied, (r) => ({
      ok: true,
      request: {
        ...r,
        createdAt: longAgo.toISOString(),
        history: r.history.map((e) => ({ ...e, at: longAgo.toISOString() })),
      },
    }));
    if (!made.ok) throw made.error;
    for (const index of [keys.requests, keys.requestsBy('frank'), keys.requestsFor(made.request.peer)]) {
      await redis.zadd(index, longAgo.getTime(), denied);
    }

    for (let i = 0; i < 2; i++) {
      replicas.push(
        await startRuntime({ config: h.config, logger: createLogger({ level: 'silent' }), worker: true }),
      );
    }
    for (const runtime of [h.runtime, ...replicas]) await runtime.bot.queues.scheduleReminders('* * * * * *');
    expect(await h.runtime.bot.queues.tasks.getJobSchedulers()).toHaveLength(1);

    await h.waitFor((m) => m.reply.kind === 'peer.idle');
    await sleep(4_000);
    await h.runtime.bot.queues.tasks.removeJobScheduler('reminders');

    expect(await h.runtime.bot.requests.find(denied)).toBeNull();
    const pruned = (await h.runtime.bot.audit.tail(200)).filter((e) => e.action === 'prune');
    expect(pruned.map((e) => e.target)).toEqual([denied]);
    // The scheduled full audit check ran on every tick and found the chain intact.
    expect(h.messages.filter((m) => m.reply.kind === 'notice' && /audit chain/.test(m.reply.text))).toEqual(
      [],
    );
    expect(await h.runtime.bot.audit.verify({ full: true })).toMatchObject({ intact: true });

    expect(reminders({ type: 'user', id: 'bob' }, 'bob-laptop', 'due')).toHaveLength(1);
    expect(reminders({ type: 'leads' }, 'bob-laptop', 'due')).toHaveLength(0);
    expect(reminders({ type: 'user', id: 'dave' }, 'dave-desk', 'overdue')).toHaveLength(1);
    expect(reminders({ type: 'leads' }, 'dave-desk', 'overdue')).toHaveLength(1);
    expect(
      h.messages.filter((m) => m.reply.kind === 'key.reminder' && m.reply.peer === 'erin-tablet'),
    ).toHaveLength(0);
    const due = reminders({ type: 'user', id: 'bob' }, 'bob-laptop', 'due')[0];
    expect(due?.private).toBe(true);

    // Idle: bob's and dave's keys are days old and never handshook; erin's peer is brand new.
    const idle = replyOf(h.messages, 'peer.idle');
    expect(idle?.peers.map((p) => p.peer)).toEqual(['bob-laptop', 'dave-desk']);
    expect(h.messages.find((m) => m.reply.kind === 'peer.idle')?.to).toEqual({ type: 'leads' });
  });

  it('revokes a peer whose key stays overdue past the grace period, once, with overdueAction revoke', async () => {
    h.config.policy.overdueAction = 'revoke';
    await age('dave-desk', 13);
    const first = await runReminderCheck(h.runtime.worker);
    const second = await runReminderCheck(h.runtime.worker);
    expect(first.sent).toContain('dave-desk:revoking');
    expect(second.sent).not.toContain('dave-desk:revoking');

    const revoked = await h.waitFor((m) => m.reply.kind === 'peer.revoked' && m.reply.peer === 'dave-desk');
    expect(revoked.reply.kind === 'peer.revoked' && revoked.reply.cause).toBe('overdue');
    expect(await h.runtime.bot.inventory.findByName(['hub1'], 'dave-desk')).toBeNull();
    expect(reminders({ type: 'leads' }, 'dave-desk', 'revoking')).toHaveLength(1);
    const dump = await lab.get().hubs[0]?.exec(['wg', 'show', 'wg0', 'allowed-ips']);
    expect(dump?.stdout).not.toContain('10.66.1.3/32');
  });
});

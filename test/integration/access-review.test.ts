import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markDeparted } from '../../src/bot/departures.js';
import { Actor } from '../../src/domain/models/command.js';
import type { Message, Reply } from '../../src/domain/models/reply.js';
import { answerItem } from '../../src/domain/review.js';
import { REVIEW_CSV_COLUMNS } from '../../src/domain/review-report.js';
import { ReviewStore } from '../../src/store/reviews.js';
import { parseDump } from '../../src/wg/dump.js';
import { runReviewCheck } from '../../src/workers/review-check.js';
import { revoke } from '../../src/workers/revoke.js';
import { type LabAccess, useLab } from '../support/lab.js';
import { type Harness, replyOf, startHarness } from '../support/tunnelgate.js';

const DAY = 86_400_000;

type Ask = Extract<Reply, { kind: 'review.ask' }>;
type Report = Extract<Reply, { kind: 'review.report' }>;

/** The CSV as rows of named fields (no field here holds a comma or a quote). */
function csvRows(csv: string): Record<string, string>[] {
  const [head, ...rows] = csv.trimEnd().split('\r\n');
  const names = (head ?? '').split(',');
  return rows.map((row) => Object.fromEntries(row.split(',').map((v, i) => [names[i] ?? '', v])));
}

/** The harness, its lab, and the steps every review test takes. */
function reviewSuite(lab: LabAccess, name: string, policy: Record<string, unknown>) {
  const s = { h: undefined as unknown as Harness, offsetMs: 0 };
  beforeAll(async () => {
    s.h = await startHarness(lab.get(), name, { policy, clock: () => new Date(Date.now() + s.offsetMs) });
  });
  afterAll(async () => {
    await s.h?.stop();
  });
  const provision = async (user: string, device: string) => {
    const id = replyOf(await s.h.run(user, `/vpn request ${device}`), 'request.pending')?.request.id ?? '';
    await s.h.run('alice', `/vpn approve ${id}`);
    await s.h.waitFor((m) => m.reply.kind === 'peer.provisioned' && m.reply.requestId === id);
    return s.h.runtime.bot.requests.get(id);
  };
  const liveKeys = async () =>
    parseDump((await lab.hub().exec(['wg', 'show', 'wg0', 'dump'])).stdout).peers.map(
      (p) => p.publicKey as string,
    );
  const asks = (to: string, reminder: boolean) =>
    s.h.messages.filter(
      (m): m is Message & { reply: Ask } =>
        m.reply.kind === 'review.ask' &&
        m.reply.reminder === reminder &&
        (m.to.type === 'leads' ? 'leads' : m.to.id) === to,
    );
  const error = async (user: string, line: string) => replyOf(await s.h.run(user, line), 'error');
  const report = async () =>
    (await s.h.waitFor((m) => m.reply.kind === 'review.report' && m.to.type === 'leads')).reply as Report;
  /** Moves the clock of the bot and the workers on to `ms` after `from` (ISO), and runs the review check. */
  const checkAt = async (from: string, ms: number) => {
    s.offsetMs = Date.parse(from) + ms - Date.now();
    return runReviewCheck(s.h.runtime.worker);
  };
  return { s, provision, liveKeys, asks, error, report, checkAt };
}

describe('access reviews with policy.reviewAction revoke', () => {
  const lab = useLab({ hubs: 1, clients: 0 });
  const { s, provision, liveKeys, asks, error, report, checkAt } = reviewSuite(lab, 'review-revoke', {
    reviewAction: 'revoke',
  });

  lab.describe('on a lab hub', () => {
    it('one keeps, one revokes, one ignores: the ignored peer is revoked at the due date, the confirmed one never', async () => {
      const bob = await provision('bob', 'laptop');
      const carol = await provision('carol', 'phone');
      const dave = await provision('dave', 'desk');

      expect((await error('bob', '/vpn review start'))?.code).toBe('FORBIDDEN');
      const started = replyOf(await s.h.run('alice', '/vpn review start --due 10d'), 'notice');
      expect(started?.text).toMatch(/^Access review v-[a-z0-9]{6} started: 3 peer\(s\), 3 reviewer\(s\)/);
      const again = await error('alice', '/vpn review start');
      expect(again?.code).toBe('CONFLICT');
      expect(again?.message).toMatch(/^review v-[a-z0-9]{6} is still open; one review runs at a time$/);

      // Each owner gets one private ask listing their own peer, with its facts and the commands.
      for (const [owner, record] of [
        ['bob', bob],
        ['carol', carol],
        ['dave', dave],
      ] as const) {
        const ask = await s.h.waitFor(
          (m) => m.reply.kind === 'review.ask' && m.to.type === 'user' && m.to.id === owner,
        );
        expect(ask.private).toBe(true);
        const reply = ask.reply as Ask;
        expect(reply.items.map((i) => [i.peer, i.hub, i.address, i.mode, i.expiresAt])).toEqual([
          [record.peer, 'hub1', record.address, 'split', null],
        ]);
      }
      expect(asks('bob', false)).toHaveLength(1);
      expect(asks('leads', false)).toHaveLength(0);

      // Answers: only for one's own peers, once.
      expect((await error('bob', '/vpn review revoke carol-phone'))?.code).toBe('FORBIDDEN');
      expect((await error('bob', '/vpn review keep dave-desk'))?.code).toBe('FORBIDDEN');
      expect((await error('alice', '/vpn review keep dave-desk'))?.code).toBe('FORBIDDEN');
      expect((await error('bob', '/vpn review keep nobody-here'))?.code).toBe('NOT_FOUND');
      expect(replyOf(await s.h.run('bob', '/vpn review keep bob-laptop'), 'notice')?.text).toMatch(
        /^Kept bob-laptop/,
      );
      expect((await error('bob', '/vpn review revoke bob-laptop'))?.code).toBe('CONFLICT');
      expect(replyOf(await s.h.run('carol', '/vpn review revoke carol-phone'), 'job.queued')).toBeDefined();
      const carolGone = await s.h.waitFor(
        (m) => m.reply.kind === 'peer.revoked' && m.reply.peer === 'carol-phone',
      );
      expect(carolGone.reply.kind === 'peer.revoked' && carolGone.reply.cause).toBe('review');

      const status = replyOf(await s.h.run('alice', '/vpn review status'), 'review.status');
      expect(status?.progress).toEqual([
        { reviewer: 'bob', total: 1, kept: 1, revoked: 0, unanswered: 0 },
        { reviewer: 'carol', total: 1, kept: 0, revoked: 1, unanswered: 0 },
        { reviewer: 'dave', total: 1, kept: 0, revoked: 0, unanswered: 1 },
      ]);
      expect(replyOf(await s.h.run('dave', '/vpn review status'), 'review.status')?.progress).toEqual([
        { reviewer: 'dave', total: 1, kept: 0, revoked: 0, unanswered: 1 },
      ]);

      // Reminders go reviewRemindBefore (3d) before the due date, once, to dave only (the others answered).
      const due = status?.dueAt ?? '';
      expect((await checkAt(due, -4 * DAY)).done).toEqual([]);
      expect((await checkAt(due, -2 * DAY)).done).toEqual(['reminded:dave']);
      expect((await checkAt(due, -2 * DAY + 60_000)).done).toEqual([]);
      expect(asks('dave', true)).toHaveLength(1);
      expect(asks('dave', true)[0]?.reply.items.map((i) => i.peer)).toEqual(['dave-desk']);
      expect(asks('bob', true)).toHaveLength(0);
      expect(asks('carol', true)).toHaveLength(0);

      // Just before the due date nothing is closed; just after, the unanswered peer is revoked.
      expect((await checkAt(due, -1_000)).done).toEqual([]);
      expect((await checkAt(due, 1_000)).done).toEqual(['closed']);
      const daveGone = await s.h.waitFor(
        (m) => m.reply.kind === 'peer.revoked' && m.reply.peer === 'dave-desk',
      );
      expect(daveGone.reply.kind === 'peer.revoked' && daveGone.reply.cause).toBe('review');
      expect(daveGone.to).toEqual({ type: 'user', id: 'dave' });
      expect((await checkAt(due, 2_000)).done).toEqual([]);

      const keys = await liveKeys();
      expect(keys).toContain(bob.publicKey);
      expect(keys).not.toContain(carol.publicKey);
      expect(keys).not.toContain(dave.publicKey);

      const closing = await report();
      expect(closing.markdown).toContain(`# Access review ${closing.reviewId}`);
      expect(closing.markdown).toContain('- At the due date: revoke');
      expect(closing.markdown).toContain('| hub1 | bob-laptop | bob | owner | keep | bob |');
      expect(closing.markdown).toMatch(
        /\| hub1 \| dave-desk \| dave \| owner \| - \| - \| - \| revoked \(reviewAction revoke\) \|/,
      );
      expect(closing.csv.split('\r\n')[0]).toBe(REVIEW_CSV_COLUMNS.join(','));

      // Later, the report shows the due-date revocation done.
      const later = replyOf(
        await s.h.run('alice', `/vpn review report ${closing.reviewId}`),
        'review.report',
      );
      const rows = csvRows(later?.csv ?? '');
      const pick = (row: Record<string, string> | undefined) =>
        row === undefined
          ? undefined
          : [row.peer, row.owner, row.answer, row.answered_by, row.at_due_date, row.outcome];
      expect(rows.map(pick)).toEqual([
        ['bob-laptop', 'bob', 'keep', 'bob', '', 'kept'],
        ['carol-phone', 'carol', 'revoke', 'carol', '', 'revoked'],
        ['dave-desk', 'dave', '', '', 'revoked', 'revoked'],
      ]);
      for (const row of rows) expect(row.review).toBe(closing.reviewId);
      expect(rows[0]?.answered_at).toMatch(/^\d{4}-\d\d-\d\dT/);
      // The lab's peers never connected: the hub was read, and says so.
      expect(rows.map((r) => r.handshake_age_sec)).toEqual(['never', 'never', 'never']);
      expect(rows[2]?.outcome_at).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect((await error('bob', '/vpn review report'))?.code).toBe('FORBIDDEN');

      // The worker refuses a review removal of the peer its owner confirmed, even if one were queued.
      await expect(
        revoke(s.h.runtime.worker, {
          kind: 'revoke',
          hub: bob.hub,
          publicKey: bob.publicKey,
          peer: bob.peer,
          by: 'access-review',
          byRoles: [],
          cause: 'review',
          requestId: bob.id,
          reviewId: closing.reviewId as never,
        }),
      ).rejects.toMatchObject({
        code: 'FORBIDDEN',
        message: expect.stringContaining('bob confirmed bob-laptop'),
      });
      expect(await liveKeys()).toContain(bob.publicKey);
      expect(
        s.h.messages.filter((m) => m.reply.kind === 'review.report' && m.to.type === 'leads'),
      ).toHaveLength(1);
      // A closed review takes no more answers.
      expect((await error('dave', '/vpn review keep dave-desk'))?.code).toBe('NOT_FOUND');

      // With policy.reviewEvery the next review starts on its own once the last one is that old,
      // and the settled report is never posted again.
      const worker = s.h.runtime.worker;
      const scheduled = {
        ...worker,
        config: { ...worker.config, policy: { ...worker.config.policy, reviewEvery: 90 * DAY } },
      };
      const startedAt = Date.parse(due) - 10 * DAY;
      s.offsetMs = startedAt + 60 * DAY - Date.now();
      expect((await runReviewCheck(scheduled)).done).toEqual([]);
      s.offsetMs = startedAt + 90 * DAY + 1_000 - Date.now();
      const next = await runReviewCheck(scheduled);
      expect(next.done).toEqual(['started', 'asked']);
      expect(next.review).not.toBe(closing.reviewId);
      const nextAsk = asks('bob', false).find((m) => m.reply.reviewId === next.review);
      expect(nextAsk?.reply.items.map((i) => i.peer)).toEqual(['bob-laptop']);
      expect(
        s.h.messages.filter((m) => m.reply.kind === 'review.report' && m.to.type === 'leads'),
      ).toHaveLength(1);
      expect((await error('alice', '/vpn review start'))?.code).toBe('CONFLICT');

      // A revocation the worker refuses is recorded as failed, and the peer stays: here bob's
      // revoke answer (its job lost) meets a peer that changed owner since the review started.
      const store = new ReviewStore(s.h.runtime.bot.redis, s.h.runtime.bot.keys);
      const nextId = next.review ?? '';
      await store.updateItem(
        nextId,
        'bob-laptop',
        (item, review) =>
          answerItem(review, item, 'revoke', Actor.parse({ id: 'bob' }), s.h.config.roles, new Date()),
        true,
      );
      const current = await s.h.runtime.bot.inventory.findByName(['hub1'], 'bob-laptop');
      if (current === null) throw new Error('no bob-laptop');
      await s.h.runtime.bot.inventory.put({ ...current, owner: 'zed' as typeof current.owner });
      const nextDue = (await store.find(nextId))?.dueAt ?? '';
      s.offsetMs = Date.parse(nextDue) + 1_000 - Date.now();
      expect((await runReviewCheck(scheduled)).done).toContain('closed');
      await s.h.waitFor((m) => m.reply.kind === 'peer.failed' && m.reply.peer === 'bob-laptop');
      const failed = (await store.find(nextId))?.items.find((i) => i.peer === 'bob-laptop');
      expect(failed?.outcome).toBe('revoke-failed');
      expect(await liveKeys()).toContain(bob.publicKey);
    });
  });
});

describe('access reviews with policy.reviewAction flag (the default)', () => {
  const lab = useLab({ hubs: 1, clients: 0 });
  const { s, provision, liveKeys, asks, error, report, checkAt } = reviewSuite(lab, 'review-flag', {});

  lab.describe('on a lab hub', () => {
    it('flags the ignored peer to the leads and keeps it; peers of people who left are asked of the leads', async () => {
      const bob = await provision('bob', 'laptop');
      const carol = await provision('carol', 'phone');
      const dave = await provision('dave', 'desk');
      const erin = await provision('erin', 'tablet');
      const frank = await provision('frank', 'pad');
      await markDeparted(s.h.runtime.bot, 'erin');

      const startReply = await s.h.run('alice', '/vpn review start --hub hub1 --due 10d');
      expect(startReply.map((m) => m.reply)).toMatchObject([{ kind: 'notice' }]);
      const leadsAsk = (await s.h.waitFor((m) => m.reply.kind === 'review.ask' && m.to.type === 'leads'))
        .reply as Ask;
      expect(leadsAsk.forLeads).toBe(true);
      expect(leadsAsk.items.map((i) => [i.peer, i.owner, i.reviewer])).toEqual([
        ['erin-tablet', 'erin', 'leads'],
      ]);
      await s.h.waitFor((m) => m.reply.kind === 'review.ask' && m.to.type === 'user' && m.to.id === 'dave');
      expect(asks('erin', false)).toHaveLength(0);

      expect((await error('erin', '/vpn review keep erin-tablet'))?.code).toBe('FORBIDDEN');
      expect((await error('bob', '/vpn review keep erin-tablet'))?.code).toBe('FORBIDDEN');
      expect(replyOf(await s.h.run('alice', '/vpn review revoke erin-tablet'), 'job.queued')).toBeDefined();
      expect(replyOf(await s.h.run('bob', '/vpn review keep bob-laptop'), 'notice')).toBeDefined();
      expect(replyOf(await s.h.run('carol', '/vpn review revoke carol-phone'), 'job.queued')).toBeDefined();
      // frank's revoke answer is recorded but its job is lost (as if the queue failed right after):
      // the close queues it again.
      const reviewId = /v-[a-z0-9]{6}/.exec(JSON.stringify(startReply))?.[0] ?? '';
      await new ReviewStore(s.h.runtime.bot.redis, s.h.runtime.bot.keys).updateItem(
        reviewId,
        'frank-pad',
        (item, review) =>
          answerItem(review, item, 'revoke', Actor.parse({ id: 'frank' }), s.h.config.roles, new Date()),
        true,
      );

      const status = replyOf(await s.h.run('alice', '/vpn review status'), 'review.status');
      expect(status?.progress.map((p) => p.reviewer)).toEqual(['bob', 'carol', 'dave', 'leads', 'frank']);
      expect((await checkAt(status?.dueAt ?? '', 1_000)).done).toEqual(['closed']);
      const closing = await report();
      const flagNotice = s.h.messages.find(
        (m) =>
          m.to.type === 'leads' &&
          m.reply.kind === 'notice' &&
          m.reply.text.startsWith(`Access review ${closing.reviewId} closed`),
      );
      expect(flagNotice?.reply.kind === 'notice' && flagNotice.reply.text).toContain(
        '1 unconfirmed peer(s) flagged, 0 being revoked',
      );
      expect(closing.markdown).toContain('- Scope: hub hub1');
      expect(closing.markdown).toMatch(
        /\| hub1 \| dave-desk \| dave \| owner \| - \| - \| - \| flagged \(reviewAction flag\) \| flagged to the leads/,
      );
      expect(closing.markdown).toContain(
        '| hub1 | erin-tablet | erin | leads (owner left) | revoke | alice |',
      );
      await s.h.waitFor((m) => m.reply.kind === 'peer.revoked' && m.reply.peer === 'carol-phone');
      await s.h.waitFor((m) => m.reply.kind === 'peer.revoked' && m.reply.peer === 'erin-tablet');
      await s.h.waitFor((m) => m.reply.kind === 'peer.revoked' && m.reply.peer === 'frank-pad');
      const rows = csvRows(
        replyOf(await s.h.run('alice', `/vpn review report ${closing.reviewId}`), 'review.report')?.csv ?? '',
      );
      expect(
        rows.map((r) => [r.peer, r.reviewer, r.answer, r.answered_by, r.at_due_date, r.outcome]),
      ).toEqual([
        ['bob-laptop', 'owner', 'keep', 'bob', '', 'kept'],
        ['carol-phone', 'owner', 'revoke', 'carol', '', 'revoked'],
        ['dave-desk', 'owner', '', '', 'flagged', 'flagged'],
        ['erin-tablet', 'leads', 'revoke', 'alice', '', 'revoked'],
        ['frank-pad', 'owner', 'revoke', 'frank', '', 'revoked'],
      ]);
      // Flagged is not revoked: dave's and bob's peers stay on the hub.
      const keys = await liveKeys();
      expect(keys).toContain(dave.publicKey);
      expect(keys).toContain(bob.publicKey);
      expect(keys).not.toContain(carol.publicKey);
      expect(keys).not.toContain(erin.publicKey);
      expect(keys).not.toContain(frank.publicKey);
      expect(s.h.messages.some((m) => m.reply.kind === 'peer.revoked' && m.reply.peer === 'dave-desk')).toBe(
        false,
      );
    });

    it("closes on the review's own delayed check at the due date, flagging every unanswered peer", async () => {
      const started = replyOf(await s.h.run('alice', '/vpn review start --due 3s'), 'notice');
      const id = /v-[a-z0-9]{6}/.exec(started?.text ?? '')?.[0];
      const closing = (
        await s.h.waitFor(
          (m) => m.reply.kind === 'review.report' && m.reply.reviewId === id && m.to.type === 'leads',
        )
      ).reply as Report;
      expect(csvRows(closing.csv).map((r) => [r.peer, r.at_due_date, r.outcome])).toEqual([
        ['bob-laptop', 'flagged', 'flagged'],
        ['dave-desk', 'flagged', 'flagged'],
      ]);
      expect(await liveKeys()).toHaveLength(2);

      // Two starts at once open one review.
      const both = await Promise.all([
        s.h.run('alice', '/vpn review start'),
        s.h.run('alice', '/vpn review start'),
      ]);
      expect(both.map((replies) => replies[0]?.reply.kind).sort()).toEqual(['error', 'notice']);
    });
  });
});

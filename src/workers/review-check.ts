/**
 * The access review check (the `review-check` task): run when a review starts, at its reminder
 * and due times (each run queues the next), and on the reminder cron as a fallback. Each step is
 * idempotent (an idempotency mark or a compare-and-set), so retries, overlapping runs and extra
 * worker replicas never send twice or close twice:
 *
 *   asks       every reviewer gets one message listing their peers with the live handshakes
 *   reminder   reviewers with peers unanswered get one reminder before the due date
 *   close      at the due date the unanswered peers are flagged or queued for revocation (through
 *              the revoke job, re-checked against the review), and the leads get the report
 *   schedule   with `policy.reviewEvery`, a new review starts once the last one is that old
 */
import { toTunnelgateError } from '../core/errors.js';
import { newId, ReviewId } from '../core/ids.js';
import { hubConfig } from '../domain/hubs.js';
import type { Message } from '../domain/models/reply.js';
import type { Review, ReviewItem } from '../domain/models/review.js';
import { dumpStep } from '../hub/programs/peers.js';
import { runScript } from '../hub/ssh/remote-script.js';
import { ReviewStore } from '../store/reviews.js';
import { parseDump } from '../wg/dump.js';
import type { WorkerContext } from './context.js';
import { settleReview } from './review-close.js';

/** Marks outlive any review by this much. */
const MARK_SLACK_MS = 30 * 86_400_000;
/** A review's delayed check runs this long after its time, so a clock a little ahead is no matter. */
const LATE_MS = 1_000;

/** What a run did, for logs and tests. */
export interface ReviewCheckReport {
  review: string | null;
  /** Steps done by this run: `asked`, `reminded:<reviewer>`, `closed`, `started`. */
  done: string[];
}

/** Runs the check once. */
export async function runReviewCheck(ctx: WorkerContext): Promise<ReviewCheckReport> {
  const reviews = new ReviewStore(ctx.redis, ctx.keys);
  const report: ReviewCheckReport = { review: null, done: [] };
  let review = await reviews.open();
  if (review === null) review = await startOnSchedule(ctx, reviews, report);
  if (review !== null) {
    report.review = review.id;
    review = await step(ctx, reviews, review, report);
  }
  const last = await reviews.latest();
  const unsettled = last?.state === 'closed' && last.settledAt === null ? last : null;
  if (
    unsettled !== null &&
    (await once(ctx, `review-close:${unsettled.id}`, unsettled, () => settleReview(ctx, reviews, unsettled)))
  )
    report.done.push('closed');
  if (review?.state === 'open') await queueNext(ctx, review);
  ctx.logger.info({ review: report.review, done: report.done }, 'review check done');
  return report;
}

async function startOnSchedule(
  ctx: WorkerContext,
  reviews: ReviewStore,
  report: ReviewCheckReport,
): Promise<Review | null> {
  const every = ctx.config.policy.reviewEvery;
  if (every === undefined) return null;
  const now = ctx.clock();
  const last = await reviews.latest();
  if (last !== null && now.getTime() - Date.parse(last.startedAt) < every) return null;
  try {
    const review = await reviews.start(ctx.inventory, {
      id: ReviewId.parse(newId('v')),
      startedBy: 'schedule',
      now,
      dueMs: ctx.config.policy.reviewDue,
      hubs: ctx.config.hubs.map((h) => h.name),
    });
    await ctx.audit.append({
      at: now.toISOString(),
      actor: 'schedule',
      action: 'review-start',
      target: review.id,
      result: 'ok',
      detail: `${review.items.length} peers, due ${review.dueAt}`,
    });
    report.done.push('started');
    return review;
  } catch (err) {
    if (toTunnelgateError(err).code === 'CONFLICT') return reviews.open();
    throw err;
  }
}

/** Asks, reminds and closes, as the time says. Returns the review as it is after. */
async function step(
  ctx: WorkerContext,
  reviews: ReviewStore,
  review: Review,
  report: ReviewCheckReport,
): Promise<Review> {
  const now = ctx.clock();
  let current = review;
  const asked = await once(ctx, `review-ask:${review.id}`, review, async () => {
    current = await ask(ctx, reviews, review);
  });
  if (asked) report.done.push('asked');
  if (now.getTime() >= Date.parse(current.dueAt)) {
    // Closed first, atomically: from here no answer is taken, so the outcomes below are final.
    const header = await reviews.updateHeader(current.id, (c) =>
      c.state === 'open'
        ? {
            write: {
              ...c,
              state: 'closed',
              closedAt: now.toISOString(),
              action: ctx.config.policy.reviewAction,
            },
          }
        : { keep: true },
    );
    return { ...current, ...header };
  }
  if (!asked && now.getTime() >= remindAt(current, ctx.config.policy.reviewRemindBefore)) {
    for (const [reviewer, items] of unansweredByReviewer(current)) {
      const sent = await once(ctx, `review-remind:${current.id}:${reviewer}`, current, () =>
        ctx.notify([askMessage(current, reviewer, items, true, now)]),
      );
      if (sent) report.done.push(`reminded:${reviewer}`);
    }
  }
  return current;
}

/** When reminders go: `policy.reviewRemindBefore` before the due date, or half-way for short reviews. */
function remindAt(review: Review, remindBefore: number): number {
  const start = Date.parse(review.startedAt);
  const due = Date.parse(review.dueAt);
  return Math.max(due - remindBefore, start + Math.floor((due - start) / 2));
}

/** Fills in the live handshakes, records the asks as sent, and sends one message per reviewer. */
async function ask(ctx: WorkerContext, reviews: ReviewStore, review: Review): Promise<Review> {
  const hubs = [...new Set(review.items.map((i) => i.hub))];
  const nowSec = Math.floor(ctx.clock().getTime() / 1000);
  const handshakes = new Map<string, number | null>();
  const read = new Set<string>();
  await Promise.all(
    hubs.map(async (hub) => {
      try {
        const results = await runScript(ctx.pool.get(hub), [dumpStep(hubConfig(ctx.config, hub))]);
        for (const p of parseDump(results.dump?.stdout ?? '').peers)
          handshakes.set(`${hub}|${p.publicKey}`, p.latestHandshake);
        read.add(hub);
      } catch (err) {
        ctx.logger.warn({ hub, code: toTunnelgateError(err).code }, 'review cannot read hub handshakes');
      }
    }),
  );
  for (const item of review.items) {
    const last = handshakes.get(`${item.hub}|${item.publicKey}`) ?? null;
    const handshakeAgeSec = last === null ? null : Math.max(0, nowSec - last);
    const handshakeKnown = read.has(item.hub);
    await reviews.updateItem(review.id, item.peer, (i) => ({ ...i, handshakeAgeSec, handshakeKnown }));
  }
  const at = ctx.clock().toISOString();
  await reviews.updateHeader(review.id, (c) => ({ write: { ...c, askedAt: at } }));
  const asked = (await reviews.find(review.id)) ?? review;
  await ctx.notify(
    [...unansweredByReviewer(asked)].map(([reviewer, items]) =>
      askMessage(asked, reviewer, items, false, ctx.clock()),
    ),
  );
  return asked;
}

function askMessage(
  review: Review,
  reviewer: string,
  items: ReviewItem[],
  reminder: boolean,
  at: Date,
): Message {
  const forLeads = reviewer === 'leads';
  return {
    to: forLeads
      ? { type: 'leads' }
      : { type: 'user', id: items[0]?.owner ?? (reviewer as ReviewItem['owner']) },
    private: !forLeads,
    reply: {
      kind: 'review.ask',
      reviewId: review.id,
      at: at.toISOString(),
      dueAt: review.dueAt,
      reminder,
      forLeads,
      items,
    },
  };
}

/** Unanswered items per reviewer (an owner's id, or `leads`). */
function unansweredByReviewer(review: Review): Map<string, ReviewItem[]> {
  const by = new Map<string, ReviewItem[]>();
  for (const item of review.items) {
    if (item.decision !== null) continue;
    const reviewer = item.reviewer === 'leads' ? 'leads' : item.owner;
    by.set(reviewer, [...(by.get(reviewer) ?? []), item]);
  }
  return by;
}

/** Runs `work` once under mark `id` (kept past the review's due date); released when it fails. */
async function once(
  ctx: WorkerContext,
  id: string,
  review: Review,
  work: () => Promise<void>,
): Promise<boolean> {
  const ttlMs = Math.max(0, Date.parse(review.dueAt) - ctx.clock().getTime()) + MARK_SLACK_MS;
  const key = ctx.keys.once(id);
  if ((await ctx.redis.set(key, '1', 'EX', Math.ceil(ttlMs / 1000), 'NX')) !== 'OK') return false;
  try {
    await work();
    return true;
  } catch (err) {
    await ctx.redis.del(key);
    throw err;
  }
}

/** Queues the next check of an open review: at its reminder time, then at its due date. */
async function queueNext(ctx: WorkerContext, review: Review): Promise<void> {
  const now = ctx.clock().getTime();
  const next = [remindAt(review, ctx.config.policy.reviewRemindBefore), Date.parse(review.dueAt)].find(
    (at) => at > now,
  );
  if (next === undefined) return;
  await ctx.enqueueTask(
    { kind: 'review-check' },
    { delayMs: next - now + LATE_MS, jobId: `review-${review.id}-${next}` },
  );
}

/**
 * `/vpn review start|status|report`: a lead opens an access review (one at a time), anyone
 * follows its progress (leads see every reviewer, others their own row), and leads read the
 * report. The asks, reminders and the due date are the review check's work (workers/review-check.ts).
 */
import { TunnelgateError } from '../../core/errors.js';
import { newId, ReviewId } from '../../core/ids.js';
import { hubConfig } from '../../domain/hubs.js';
import type { Actor, Command } from '../../domain/models/command.js';
import type { Message } from '../../domain/models/reply.js';
import type { Review } from '../../domain/models/review.js';
import { progress } from '../../domain/review.js';
import { reviewCsv, reviewMarkdown } from '../../domain/review-report.js';
import { isLead } from '../../domain/roles.js';
import { ReviewStore } from '../../store/reviews.js';
import { type BotContext, toActor } from '../context.js';
import { handleReviewAnswer } from './review-answer.js';

type ReviewCommand = Extract<Command, { verb: 'review' }>;

/** Routes `/vpn review <action>`. */
export function handleReview(ctx: BotContext, actor: Actor, command: ReviewCommand): Promise<Message[]> {
  switch (command.action) {
    case 'start':
      return start(ctx, actor, command);
    case 'status':
      return status(ctx, actor);
    case 'report':
      return report(ctx, actor, command.reviewId);
    case 'keep':
    case 'revoke':
      return handleReviewAnswer(ctx, actor, command.action, command.peer ?? '');
    default: {
      const unreachable: never = command.action;
      throw new Error(`unhandled review action ${String(unreachable)}`);
    }
  }
}

async function start(ctx: BotContext, actor: Actor, command: ReviewCommand): Promise<Message[]> {
  if (!isLead(actor, ctx.config.roles))
    throw new TunnelgateError('FORBIDDEN', 'only leads start access reviews');
  const hubs =
    command.hub === undefined
      ? ctx.config.hubs.map((h) => h.name)
      : [hubConfig(ctx.config, command.hub).name];
  const now = ctx.clock();
  const review = await new ReviewStore(ctx.redis, ctx.keys).start(ctx.inventory, {
    id: ReviewId.parse(newId('v')),
    startedBy: actor.id,
    now,
    dueMs: command.dueMs ?? ctx.config.policy.reviewDue,
    hub: command.hub,
    hubs,
  });
  await ctx.audit.append({
    at: now.toISOString(),
    actor: actor.id,
    action: 'review-start',
    ...(command.hub === undefined ? {} : { hub: command.hub }),
    target: review.id,
    result: 'ok',
    detail: `${review.items.length} peers, due ${review.dueAt}`,
  });
  await ctx.queues.addTask({ kind: 'review-check' }, { jobId: `review-${review.id}-start` });
  const owners = new Set(review.items.map((i) => (i.reviewer === 'leads' ? 'leads' : i.owner)));
  return [
    toActor(actor, {
      kind: 'notice',
      text: `Access review ${review.id} started: ${review.items.length} peer(s), ${owners.size} reviewer(s), answers due by ${review.dueAt}. Follow it with /vpn review status.`,
    }),
  ];
}

/** The open review, else the latest; NOT_FOUND when there has never been one. */
async function current(ctx: BotContext, id?: string): Promise<Review> {
  const reviews = new ReviewStore(ctx.redis, ctx.keys);
  const review =
    id === undefined ? ((await reviews.open()) ?? (await reviews.latest())) : await reviews.find(id);
  if (review === null) {
    throw new TunnelgateError(
      'NOT_FOUND',
      id === undefined ? 'there has been no access review yet' : `there is no review ${id}`,
      {
        hint: 'a lead starts one with /vpn review start',
      },
    );
  }
  return review;
}

async function status(ctx: BotContext, actor: Actor): Promise<Message[]> {
  const review = await current(ctx);
  const rows = progress(review);
  const lead = isLead(actor, ctx.config.roles);
  return [
    toActor(actor, {
      kind: 'review.status',
      reviewId: review.id,
      state: review.state,
      dueAt: review.dueAt,
      progress: lead ? rows : rows.filter((r) => r.reviewer === actor.id),
    }),
  ];
}

async function report(ctx: BotContext, actor: Actor, id: string | undefined): Promise<Message[]> {
  if (!isLead(actor, ctx.config.roles))
    throw new TunnelgateError('FORBIDDEN', 'only leads read review reports');
  const review = await current(ctx, id);
  return [
    toActor(actor, {
      kind: 'review.report',
      reviewId: review.id,
      markdown: reviewMarkdown(review),
      csv: reviewCsv(review),
    }),
  ];
}

/**
 * The bot's front door: text or a parsed command in, messages out. Every adapter calls this; it
 * never throws — failures become one error reply to the actor, via the one translator.
 */
import { formatDuration } from '../core/duration.js';
import { TunnelgateError, toTunnelgateError } from '../core/errors.js';
import { errorReply } from '../domain/error-reply.js';
import { type Actor, type Command, validCommand } from '../domain/models/command.js';
import type { Message } from '../domain/models/reply.js';
import { handleAdopt } from './commands/adopt.js';
import { handleApprove } from './commands/approve.js';
import { handleAudit } from './commands/audit.js';
import { handleBreakGlass } from './commands/break-glass.js';
import { decideExtension } from './commands/decide-extension.js';
import { decideKeyChange } from './commands/decide-key-change.js';
import { handleDeny } from './commands/deny.js';
import { handleDiagnose } from './commands/diagnose.js';
import { handleExtend } from './commands/extend.js';
import { handleFix } from './commands/fix.js';
import { handleList } from './commands/list.js';
import { handleLog } from './commands/log.js';
import { handleOffboard } from './commands/offboard.js';
import { handleReconcile } from './commands/reconcile.js';
import { handleRequest } from './commands/request.js';
import { handleResend } from './commands/resend.js';
import { handleReview } from './commands/review.js';
import { handleRevoke } from './commands/revoke.js';
import { handleRotate } from './commands/rotate.js';
import { handleStatus } from './commands/status.js';
import { type BotContext, toActor } from './context.js';
import { parseCommand } from './grammar.js';
import { helpText } from './help.js';

/** The id's prefix names what is decided: a request, an extension or a key change. */
function routeDecision(
  ctx: BotContext,
  actor: Actor,
  command: Extract<Command, { verb: 'approve' | 'deny' }>,
): Promise<Message[]> {
  const approve = command.verb === 'approve';
  const decision = approve
    ? { approve }
    : { approve, ...(command.reason === undefined ? {} : { reason: command.reason }) };
  switch (command.requestId[0]) {
    case 'x':
      return decideExtension(ctx, actor, command.requestId, decision);
    case 'k':
      return decideKeyChange(ctx, actor, command.requestId, decision);
    default:
      return command.verb === 'approve'
        ? handleApprove(ctx, actor, { verb: 'approve', requestId: command.requestId })
        : handleDeny(ctx, actor, command);
  }
}

async function route(ctx: BotContext, actor: Actor, command: Command): Promise<Message[]> {
  switch (command.verb) {
    case 'help':
      return [toActor(actor, { kind: 'help', text: helpText(command.topic) })];
    case 'request':
      return handleRequest(ctx, actor, command);
    case 'approve':
    case 'deny':
      return routeDecision(ctx, actor, command);
    case 'revoke':
      return handleRevoke(ctx, actor, command);
    case 'offboard':
      return handleOffboard(ctx, actor, command);
    case 'list':
      return handleList(ctx, actor, command);
    case 'status':
      return handleStatus(ctx, actor, command);
    case 'log':
      return handleLog(ctx, actor, command);
    case 'diagnose':
      return handleDiagnose(ctx, actor, command);
    case 'audit':
      return handleAudit(ctx, actor, command);
    case 'fix':
      return handleFix(ctx, actor, command);
    case 'rotate':
      return handleRotate(ctx, actor, command);
    case 'extend':
      return handleExtend(ctx, actor, command);
    case 'breakglass':
      return handleBreakGlass(ctx, actor, command);
    case 'review':
      return handleReview(ctx, actor, command);
    case 'resend':
      return handleResend(ctx, actor, command);
    case 'reconcile':
      return handleReconcile(ctx, actor, command);
    case 'adopt':
      return handleAdopt(ctx, actor, command);
    default: {
      const unreachable: never = command;
      throw new Error(`unhandled command ${JSON.stringify(unreachable)}`);
    }
  }
}

/** The request id or peer a command is about, for the audit log. */
function targetOf(command: Command): string | undefined {
  const fields = command as {
    requestId?: string;
    peer?: string;
    user?: string;
    findingId?: string;
    target?: string;
    incident?: string;
  };
  return (
    fields.requestId ?? fields.peer ?? fields.user ?? fields.findingId ?? fields.target ?? fields.incident
  );
}

/**
 * Refuses (INPUT_INVALID, before anything is stored) a duration above `policy.maxDuration`, from
 * whichever entry point the command came.
 */
function refuseTooLong(command: Command, maxMs: number): void {
  if (!('forMs' in command) || command.forMs === undefined || command.forMs <= maxMs) return;
  throw new TunnelgateError(
    'INPUT_INVALID',
    `${formatDuration(command.forMs)} is longer than the longest allowed, ${formatDuration(maxMs)} (policy.maxDuration)`,
    { hint: 'ask for less; extend later with /vpn extend if access is still needed' },
  );
}

/**
 * Verbs outside the rate limit: help costs nothing, and a decision acts on a request someone else
 * filed (and was counted for), so a lead working through a queue of approvals is never throttled.
 */
const UNCOUNTED: ReadonlySet<Command['verb']> = new Set(['help', 'approve', 'deny']);

/**
 * The per-user rate limit, in Redis so every bot process counts the same window. Throws CONFLICT
 * past `policy.commandsPerMinute`.
 */
async function countCommand(ctx: BotContext, actor: Actor): Promise<void> {
  const window = Math.floor(ctx.clock().getTime() / 60_000);
  const key = ctx.keys.rate(actor.id, window);
  const [[, count] = [null, 0]] = (await ctx.redis.multi().incr(key).expire(key, 120).exec()) ?? [];
  const limit = ctx.config.policy.commandsPerMinute;
  if (Number(count) > limit) {
    throw new TunnelgateError(
      'CONFLICT',
      `too many commands: at most ${limit} a minute (policy.commandsPerMinute)`,
      {
        hint: 'wait a minute, then try again',
      },
    );
  }
}

/**
 * Runs a command as `actor`, after checking it against the command schema again, whichever
 * adapter built it (grammar, Discord options, buttons or modals, Slack modals). A refusal (not
 * allowed, wrong state) is audited here, once, for every verb.
 */
export async function runCommand(ctx: BotContext, actor: Actor, input: Command): Promise<Message[]> {
  let command = input;
  try {
    command = validCommand(input);
    refuseTooLong(command, ctx.config.policy.maxDuration);
    if (!UNCOUNTED.has(command.verb)) await countCommand(ctx, actor);
    return await route(ctx, actor, command);
  } catch (thrown) {
    const error = toTunnelgateError(thrown);
    if (error.code === 'INTERNAL') ctx.logger.error({ err: thrown, verb: command.verb }, 'command failed');
    if (error.code === 'FORBIDDEN' || error.code === 'CONFLICT') {
      const target = targetOf(command);
      await ctx.audit.append({
        at: ctx.clock().toISOString(),
        actor: actor.id,
        action: command.verb,
        ...(target === undefined ? {} : { target }),
        result: 'refused',
        detail: error.code,
      });
    }
    return [toActor(actor, errorReply(error))];
  }
}

/** Parses `/vpn …` text and runs it as `actor`; a bad command gets its usage and changes nothing. */
export async function handleText(ctx: BotContext, actor: Actor, text: string): Promise<Message[]> {
  const parsed = parseCommand(text);
  if (!parsed.ok) return [toActor(actor, parsed.reply)];
  return runCommand(ctx, actor, parsed.command);
}

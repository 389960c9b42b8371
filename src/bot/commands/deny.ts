/** `/vpn deny <id> [reason]`: leads end a pending request; its sealed key is destroyed. */
import { deny } from '../../domain/approval.js';
import type { Actor, Command } from '../../domain/models/command.js';
import type { Message } from '../../domain/models/reply.js';
import { type BotContext, toActor, toRecipient } from '../context.js';

type DenyCommand = Extract<Command, { verb: 'deny' }>;

export async function handleDeny(ctx: BotContext, actor: Actor, command: DenyCommand): Promise<Message[]> {
  const now = ctx.clock();
  const result = await ctx.requests.update(command.requestId, (current) =>
    deny(current, command.reason, { actor, roles: ctx.config.roles, now, signer: ctx.signer }),
  );
  if (!result.ok) throw result.error;
  await ctx.audit.append({
    at: now.toISOString(),
    actor: actor.id,
    action: 'deny',
    hub: result.request.hub,
    target: command.requestId,
    result: 'ok',
    ...(command.reason === undefined ? {} : { detail: command.reason }),
  });
  await ctx.redis.del(ctx.keys.sealedKey(command.requestId));
  const reply = {
    kind: 'request.denied' as const,
    requestId: result.request.id,
    by: actor.id,
    ...(command.reason === undefined ? {} : { reason: command.reason }),
  };
  return [toActor(actor, reply), toRecipient({ type: 'user', id: result.request.requester }, reply)];
}

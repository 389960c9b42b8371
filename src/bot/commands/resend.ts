/**
 * `/vpn resend <peer>`: the owner asks again for a config whose delivery failed (DMs closed, the
 * platform down). The sealed key was kept; the delivery is queued again and the key is deleted
 * only once the config arrived. A config that was delivered is not kept: rotate for a new one.
 */
import { TunnelgateError } from '../../core/errors.js';
import type { Actor, Command } from '../../domain/models/command.js';
import { Message } from '../../domain/models/reply.js';
import { type BotContext, toActor } from '../context.js';

type ResendCommand = Extract<Command, { verb: 'resend' }>;

export async function handleResend(
  ctx: BotContext,
  actor: Actor,
  command: ResendCommand,
): Promise<Message[]> {
  const record = await ctx.inventory.findByName(
    ctx.config.hubs.map((h) => h.name),
    command.peer,
  );
  if (record === null || record.owner !== actor.id) {
    throw new TunnelgateError('NOT_FOUND', `you have no peer ${command.peer}`, {
      hint: 'see /vpn list for your peers',
    });
  }
  const raw = await ctx.redis.get(ctx.keys.pendingConfig(record.hub, record.peer));
  if (raw === null) {
    throw new TunnelgateError('NOT_FOUND', `there is no undelivered config of ${record.peer}`, {
      hint: `a delivered config is not kept; for a new one rotate the key: /vpn rotate ${record.peer}`,
    });
  }
  await ctx.queues.retryConfig(Message.parse(JSON.parse(raw)), 1, 0);
  return [
    toActor(actor, {
      kind: 'notice',
      text: `sending the config of ${record.peer} to you again by direct message…`,
    }),
  ];
}

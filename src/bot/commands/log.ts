/**
 * `/vpn log [N]`: leads read the newest audit entries and whether the MAC chain is intact. Only
 * the part of the chain after the last verified entry (the MACed checkpoint) is verified again;
 * a break names the entry (stream id and time) where the chain stops verifying.
 */
import { TunnelgateError } from '../../core/errors.js';
import type { Actor, Command } from '../../domain/models/command.js';
import type { Message } from '../../domain/models/reply.js';
import { isLead } from '../../domain/roles.js';
import { type BotContext, toActor } from '../context.js';

type LogCommand = Extract<Command, { verb: 'log' }>;

export async function handleLog(ctx: BotContext, actor: Actor, command: LogCommand): Promise<Message[]> {
  if (!isLead(actor, ctx.config.roles))
    throw new TunnelgateError('FORBIDDEN', 'only leads can read the audit log');
  const [entries, verdict] = await Promise.all([ctx.audit.tail(command.count), ctx.audit.verify()]);
  return [
    toActor(actor, {
      kind: 'audit.log',
      entries,
      chainIntact: verdict.intact,
      ...(verdict.broken === undefined ? {} : { broken: verdict.broken }),
      ...(verdict.checkpoint === 'refused' ? { checkpointRefused: true } : {}),
    }),
  ];
}

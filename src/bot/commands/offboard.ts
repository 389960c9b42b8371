/**
 * `/vpn offboard <user>`: a lead removes every peer of a user on every hub and denies the user's
 * open requests.
 */
import { TunnelgateError } from '../../core/errors.js';
import { UserId } from '../../core/ids.js';
import { deny } from '../../domain/approval.js';
import type { Actor, Command } from '../../domain/models/command.js';
import type { Message } from '../../domain/models/reply.js';
import { isLead } from '../../domain/roles.js';
import { type BotContext, toActor } from '../context.js';
import { queueRevocation } from '../revocation.js';

type OffboardCommand = Extract<Command, { verb: 'offboard' }>;

export async function handleOffboard(
  ctx: BotContext,
  actor: Actor,
  command: OffboardCommand,
): Promise<Message[]> {
  if (!isLead(actor, ctx.config.roles))
    throw new TunnelgateError('FORBIDDEN', 'only leads can offboard users');
  const now = ctx.clock();
  await ctx.breakGlass.markOffboarded(command.user);
  const hubs = ctx.config.hubs.map((h) => h.name);
  const peers = await ctx.inventory.listByOwner(hubs, command.user);
  const messages: Message[] = [];
  for (const record of peers) {
    const jobId = await queueRevocation(ctx, record, actor, 'offboard');
    messages.push(
      toActor(
        actor,
        { kind: 'job.queued', jobId, text: `removing ${record.peer} from ${record.hub}…` },
        { jobId },
      ),
    );
  }
  const open = await ctx.requests.list({ requester: command.user, states: ['pending'] });
  for (const request of open) {
    await ctx.requests.update(request.id, (current) =>
      deny(current, 'user offboarded', { actor, roles: ctx.config.roles, now, signer: ctx.signer }),
    );
    await ctx.redis.del(ctx.keys.sealedKey(request.id));
  }
  await ctx.audit.append({
    at: now.toISOString(),
    actor: actor.id,
    action: 'offboard',
    target: UserId.parse(command.user),
    result: 'queued',
    detail: `${peers.length} peers, ${open.length} pending requests denied`,
  });
  messages.unshift(
    toActor(actor, {
      kind: 'notice',
      text: `offboarding ${command.user}: ${peers.length} peer(s) to remove, ${open.length} pending request(s) denied`,
    }),
  );
  return messages;
}

/** `/vpn revoke <peer>`: the owner or a lead removes a peer; the hub's worker does the work. */
import { TunnelgateError } from '../../core/errors.js';
import { type BotContext, toActor } from '../context.js';
import type { Actor, Command } from '../model/command.js';
import type { Message } from '../model/reply.js';
import { queueRevocation } from '../revocation.js';
import { isLead } from '../roles.js';

type RevokeCommand = Extract<Command, { verb: 'revoke' }>;

export async function handleRevoke(
  ctx: BotContext,
  actor: Actor,
  command: RevokeCommand,
): Promise<Message[]> {
  const hubs = ctx.config.hubs.map((h) => h.name);
  const record = await ctx.inventory.findByName(hubs, command.peer);
  if (record === null) {
    throw new TunnelgateError('NOT_FOUND', `there is no peer ${command.peer}`, {
      hint: 'see your peers with /vpn list',
    });
  }
  if (record.owner !== actor.id && !isLead(actor, ctx.config.roles)) {
    throw new TunnelgateError('FORBIDDEN', `only ${record.owner} or a lead can revoke ${record.peer}`);
  }
  const jobId = await queueRevocation(ctx, record, actor, 'revoke');
  await ctx.audit.append({
    at: ctx.clock().toISOString(),
    actor: actor.id,
    action: 'revoke',
    hub: record.hub,
    target: record.peer,
    result: 'queued',
  });
  return [
    toActor(
      actor,
      { kind: 'job.queued', jobId, text: `revoking ${record.peer} on ${record.hub}…` },
      { jobId },
    ),
  ];
}

/** `/vpn revoke <peer>`: the owner or a lead removes a peer; the hub's worker does the work. */

import type { Actor, Command } from '../../domain/models/command.js';
import type { Message } from '../../domain/models/reply.js';
import { type BotContext, toActor } from '../context.js';
import { ownedOrLedPeer } from '../peer-access.js';
import { queueRevocation } from '../revocation.js';

type RevokeCommand = Extract<Command, { verb: 'revoke' }>;

export async function handleRevoke(
  ctx: BotContext,
  actor: Actor,
  command: RevokeCommand,
): Promise<Message[]> {
  const record = await ownedOrLedPeer(ctx, actor, command.peer, 'revoke');
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

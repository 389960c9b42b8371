/** `/vpn status [peer]`: live handshake and transfer of one peer (owner, on-call, leads) or your own. */
import { TunnelgateError } from '../../core/errors.js';
import type { Actor, Command } from '../../domain/models/command.js';
import type { Message } from '../../domain/models/reply.js';
import { canDiagnose } from '../../domain/roles.js';
import { type BotContext, toActor } from '../context.js';

type StatusCommand = Extract<Command, { verb: 'status' }>;

export async function handleStatus(
  ctx: BotContext,
  actor: Actor,
  command: StatusCommand,
): Promise<Message[]> {
  const hubs = ctx.config.hubs.map((h) => h.name);
  const records =
    command.peer === undefined
      ? await ctx.inventory.listByOwner(hubs, actor.id)
      : [await ctx.inventory.findByName(hubs, command.peer)].filter((r) => r !== null);
  if (command.peer !== undefined) {
    const record = records[0];
    if (record === undefined) throw new TunnelgateError('NOT_FOUND', `there is no peer ${command.peer}`);
    if (record.owner !== actor.id && !canDiagnose(actor, ctx.config.roles)) {
      throw new TunnelgateError('FORBIDDEN', `only ${record.owner}, on-call or leads can see ${record.peer}`);
    }
  }
  const jobId = await ctx.queues.addTask({
    kind: 'peers',
    hubs: [...new Set(records.map((r) => r.hub))],
    to: actor.id,
    scope: command.peer ?? 'mine',
    publicKeys: records.map((r) => r.publicKey),
    reply: 'peer.status',
  });
  return [toActor(actor, { kind: 'job.queued', jobId, text: 'reading the hubs…' }, { jobId })];
}

/**
 * `/vpn list [mine|pending|all]`: pending requests come straight from Redis; peers with their live
 * handshake and transfer come from a read job on the hubs.
 */
import { TunnelgateError } from '../../core/errors.js';
import type { Actor, Command } from '../../domain/models/command.js';
import type { Message } from '../../domain/models/reply.js';
import { canDiagnose, isLead } from '../../domain/roles.js';
import { type BotContext, toActor } from '../context.js';

type ListCommand = Extract<Command, { verb: 'list' }>;

export async function handleList(ctx: BotContext, actor: Actor, command: ListCommand): Promise<Message[]> {
  const lead = isLead(actor, ctx.config.roles);
  if (command.scope === 'pending') {
    const pending = await ctx.requests.list({
      states: ['pending'],
      ...(lead ? {} : { requester: actor.id }),
    });
    return [toActor(actor, { kind: 'peer.list', scope: 'pending', peers: [], pending })];
  }
  if (command.scope === 'all' && !lead && !canDiagnose(actor, ctx.config.roles)) {
    throw new TunnelgateError('FORBIDDEN', 'only leads and on-call can list all peers', {
      hint: 'try /vpn list mine',
    });
  }
  const hubs = ctx.config.hubs.map((h) => h.name);
  const records =
    command.scope === 'all'
      ? await ctx.inventory.listAll(hubs)
      : await ctx.inventory.listByOwner(hubs, actor.id);
  const jobId = await ctx.queues.addTask({
    kind: 'peers',
    hubs: [...new Set(records.map((r) => r.hub))],
    to: actor.id,
    scope: command.scope,
    publicKeys: records.map((r) => r.publicKey),
    reply: 'peer.list',
  });
  return [
    toActor(
      actor,
      { kind: 'job.queued', jobId, text: `reading ${records.length} peer(s) from the hubs…` },
      { jobId },
    ),
  ];
}

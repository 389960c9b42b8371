/**
 * `/vpn adopt <hub> <key-prefix> --owner USER --name DEVICE`: a lead puts a peer made outside
 * Tunnelgate under management. The hub's worker re-checks the lead, resolves the prefix against
 * the hub itself (exactly one foreign peer) and does the work (workers/adopt.ts).
 */
import { TunnelgateError } from '../../core/errors.js';
import { HubName } from '../../core/ids.js';
import { pickHub } from '../../domain/hubs.js';
import type { Actor, Command } from '../../domain/models/command.js';
import type { Message } from '../../domain/models/reply.js';
import { isLead } from '../../domain/roles.js';
import { type BotContext, toActor } from '../context.js';

type AdoptCommand = Extract<Command, { verb: 'adopt' }>;

export async function handleAdopt(ctx: BotContext, actor: Actor, command: AdoptCommand): Promise<Message[]> {
  if (!isLead(actor, ctx.config.roles)) {
    throw new TunnelgateError('FORBIDDEN', 'only leads can adopt peers', {
      hint: 'ask a lead to run /vpn adopt',
    });
  }
  const hub = HubName.parse(pickHub(ctx.config, command.hub));
  const { keyPrefix, owner, device } = command;
  const jobId = await ctx.queues.addHub(
    {
      kind: 'adopt',
      hub,
      by: actor.id,
      byRoles: [...actor.platformRoles],
      entries: [{ keyPrefix, owner, device }],
      dryRun: false,
    },
    { jobId: `adopt-${hub}-${actor.id}-${ctx.clock().getTime()}` },
  );
  await ctx.audit.append({
    at: ctx.clock().toISOString(),
    actor: actor.id,
    action: 'adopt',
    hub,
    target: keyPrefix,
    result: 'queued',
    detail: `owner ${owner} device ${device}`,
  });
  return [
    toActor(
      actor,
      { kind: 'job.queued', jobId, text: `adopting the peer ${keyPrefix}… on ${hub} for ${owner}` },
      { jobId },
    ),
  ];
}

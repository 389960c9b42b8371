/**
 * `/vpn reconcile [hub]`: leads ask for a reconcile of one hub (or every hub) now; the report
 * (in sync, missing, foreign peers, overlaps) comes back from the hub's worker (workers/reconcile.ts).
 */
import { TunnelgateError } from '../../core/errors.js';
import { HubName } from '../../core/ids.js';
import { pickHub } from '../../domain/hubs.js';
import type { Actor, Command } from '../../domain/models/command.js';
import type { Message } from '../../domain/models/reply.js';
import { isLead } from '../../domain/roles.js';
import { type BotContext, toActor } from '../context.js';

type ReconcileCommand = Extract<Command, { verb: 'reconcile' }>;

export async function handleReconcile(
  ctx: BotContext,
  actor: Actor,
  command: ReconcileCommand,
): Promise<Message[]> {
  if (!isLead(actor, ctx.config.roles)) {
    throw new TunnelgateError('FORBIDDEN', 'only leads can reconcile a hub', {
      hint: 'ask a lead to run /vpn reconcile',
    });
  }
  const hubs =
    command.hub === undefined ? ctx.config.hubs.map((h) => h.name) : [pickHub(ctx.config, command.hub)];
  const stamp = ctx.clock().getTime();
  const messages: Message[] = [];
  for (const name of hubs) {
    const hub = HubName.parse(name);
    const jobId = await ctx.queues.addHub(
      { kind: 'reconcile', hub, by: actor.id, rebuild: false },
      { jobId: `reconcile-${hub}-${actor.id}-${stamp}` },
    );
    messages.push(toActor(actor, { kind: 'job.queued', jobId, text: `reconciling ${hub}…` }, { jobId }));
  }
  return messages;
}

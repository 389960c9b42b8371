/**
 * `/vpn audit [hub]`: queues the read-only hardening audit (workers/audit.ts). Leads and on-call
 * may run it: it shows the hub's firewall and listeners, which on-call needs in incidents and
 * members do not.
 */
import { TunnelgateError } from '../../core/errors.js';
import { HubName } from '../../core/ids.js';
import { pickHub } from '../../domain/hubs.js';
import type { Actor, Command } from '../../domain/models/command.js';
import type { Message } from '../../domain/models/reply.js';
import { canDiagnose } from '../../domain/roles.js';
import { type BotContext, toActor } from '../context.js';

type AuditCommand = Extract<Command, { verb: 'audit' }>;

export async function handleAudit(ctx: BotContext, actor: Actor, command: AuditCommand): Promise<Message[]> {
  if (!canDiagnose(actor, ctx.config.roles)) {
    throw new TunnelgateError('FORBIDDEN', 'only leads and on-call can audit a hub');
  }
  const hub = HubName.parse(pickHub(ctx.config, command.hub));
  const jobId = await ctx.queues.addTask({ kind: 'audit', hub, to: actor.id });
  return [toActor(actor, { kind: 'job.queued', jobId, text: `auditing ${hub}…` }, { jobId })];
}

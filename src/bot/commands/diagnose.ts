/**
 * `/vpn diagnose <peer|hub>`: queues the read-only diagnosis (workers/diagnose.ts) and answers at
 * once; the report follows as the job's final message. On-call and leads may diagnose anything and
 * see every line read; an owner may diagnose their own peer and sees its facts and the verdicts.
 */
import { TunnelgateError } from '../../core/errors.js';
import type { Actor, Command } from '../../domain/models/command.js';
import type { Message } from '../../domain/models/reply.js';
import { canDiagnose } from '../../domain/roles.js';
import { type BotContext, toActor } from '../context.js';

type DiagnoseCommand = Extract<Command, { verb: 'diagnose' }>;

export async function handleDiagnose(
  ctx: BotContext,
  actor: Actor,
  command: DiagnoseCommand,
): Promise<Message[]> {
  const hubs = ctx.config.hubs.map((h) => h.name);
  const hub = hubs.find((h) => h === (command.target as string));
  if (hub !== undefined) {
    if (!canDiagnose(actor, ctx.config.roles)) {
      throw new TunnelgateError('FORBIDDEN', `only on-call and leads can diagnose hub ${hub}`, {
        hint: 'diagnose your own peer instead: /vpn diagnose <your-peer>',
      });
    }
    const jobId = await ctx.queues.addTask({ kind: 'diagnose', hub, to: actor.id, view: 'full' });
    return [toActor(actor, { kind: 'job.queued', jobId, text: `diagnosing ${hub}…` }, { jobId })];
  }
  const record = await ctx.inventory.findByName(hubs, command.target);
  if (record === null) {
    throw new TunnelgateError('NOT_FOUND', `there is no peer or hub ${command.target}`, {
      hint: `hubs: ${hubs.join(', ')}; see /vpn list for peers`,
    });
  }
  const operator = canDiagnose(actor, ctx.config.roles);
  if (record.owner !== actor.id && !operator) {
    throw new TunnelgateError(
      'FORBIDDEN',
      `only ${record.owner}, on-call or leads can diagnose ${record.peer}`,
    );
  }
  const jobId = await ctx.queues.addTask({
    kind: 'diagnose',
    hub: record.hub,
    peer: record.peer,
    to: actor.id,
    view: operator ? 'full' : 'owner',
  });
  return [
    toActor(
      actor,
      { kind: 'job.queued', jobId, text: `diagnosing ${record.peer} on ${record.hub}…` },
      { jobId },
    ),
  ];
}

/**
 * `/vpn approve <id>`: the approval gate. Roles are checked here and again in the worker; once the
 * request has its required approvals, provisioning is queued on the hub's queue.
 */
import { approve } from '../../domain/approval.js';
import { approvers } from '../../domain/gate.js';
import type { Actor, Command } from '../../domain/models/command.js';
import type { Message } from '../../domain/models/reply.js';
import { type BotContext, toActor, toRecipient } from '../context.js';

type ApproveCommand = Extract<Command, { verb: 'approve' }>;

export async function handleApprove(
  ctx: BotContext,
  actor: Actor,
  command: ApproveCommand,
): Promise<Message[]> {
  const now = ctx.clock();
  let queue = false;
  let already = false;
  const result = await ctx.requests.update(command.requestId, (current) => {
    const step = approve(current, { actor, roles: ctx.config.roles, now, signer: ctx.signer });
    if (step.ok) {
      queue = step.effects.queueProvisioning;
      already = step.effects.alreadyApproved;
    }
    return step;
  });
  if (!result.ok) throw result.error;
  const request = result.request;
  let jobId: string | undefined;
  if (queue) {
    jobId = await ctx.queues.addHub(
      { kind: 'provision', hub: request.hub, requestId: request.id },
      { jobId: `provision-${request.id}-${request.history.length}` },
    );
  }
  if (!already) {
    await ctx.audit.append({
      at: now.toISOString(),
      actor: actor.id,
      action: 'approve',
      hub: request.hub,
      target: request.id,
      result: queue ? 'queued' : 'ok',
      detail: `${approvers(request.gate).length}/${request.gate.required}`,
    });
  }
  const reply = {
    kind: 'request.approved' as const,
    requestId: request.id,
    by: actor.id,
    approvals: approvers(request.gate),
    required: request.gate.required,
    queued: queue,
  };
  const messages = [toActor(actor, reply, jobId === undefined ? {} : { jobId })];
  if (!already) messages.push(toRecipient({ type: 'user', id: request.requester }, reply));
  return messages;
}

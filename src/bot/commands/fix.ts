/**
 * `/vpn fix <finding-id> [--approve]`: the approval gate for mechanical fixes. Anyone who may
 * diagnose proposes a stored finding's fix, which shows exactly what will change and goes to the
 * leads; a lead other than the proposer approves it through the gate, bound to the digest of the
 * action as proposed, which queues the `fix` hub job once with that digest.
 */
import { TunnelgateError } from '../../core/errors.js';
import { UserId } from '../../core/ids.js';
import { decide } from '../../domain/gate.js';
import type { Actor, Command } from '../../domain/models/command.js';
import type { Message } from '../../domain/models/reply.js';
import { canDiagnose, isLead } from '../../domain/roles.js';
import { FindingStore, fixDigest } from '../../store/findings.js';
import { type BotContext, toActor, toRecipient } from '../context.js';

type FixCommand = Extract<Command, { verb: 'fix' }>;

export async function handleFix(ctx: BotContext, actor: Actor, command: FixCommand): Promise<Message[]> {
  const store = new FindingStore(ctx.redis, ctx.keys);
  const now = ctx.clock();
  const known = await store.get(command.findingId);
  if (known === null) {
    throw new TunnelgateError(
      'NOT_FOUND',
      `finding ${command.findingId} is unknown, expired or already fixed`,
      {
        hint: 'run /vpn diagnose or /vpn audit again for current finding ids',
      },
    );
  }
  if (!command.approve) {
    if (!canDiagnose(actor, ctx.config.roles)) {
      throw new TunnelgateError('FORBIDDEN', 'only on-call and leads can propose fixes');
    }
    const record = (await store.propose(command.findingId, actor.id, now)) ?? known;
    const proposedBy = record.proposedBy ?? actor.id;
    await ctx.audit.append({
      at: now.toISOString(),
      actor: actor.id,
      action: 'fix-propose',
      hub: record.hub,
      target: command.findingId,
      result: 'ok',
      detail: record.finding.check,
    });
    const reply = { kind: 'fix.pending' as const, hub: record.hub, finding: record.finding, proposedBy };
    return [
      toActor(actor, { ...reply, review: false }),
      toRecipient({ type: 'leads' }, { ...reply, review: true }, false),
    ];
  }
  if (!isLead(actor, ctx.config.roles))
    throw new TunnelgateError('FORBIDDEN', 'only leads can approve fixes');
  const { gate, proposedBy } = known;
  if (gate === undefined || proposedBy === undefined) {
    throw new TunnelgateError('CONFLICT', `fix ${command.findingId} was not proposed yet`, {
      hint: `propose it first: /vpn fix ${command.findingId}; another lead then approves it`,
    });
  }
  if (gate.subject !== fixDigest(known)) {
    throw new TunnelgateError(
      'CONFLICT',
      `fix ${command.findingId} changed after it was proposed; nothing was approved`,
      { hint: `review it again: /vpn fix ${command.findingId}` },
    );
  }
  const decided = decide(
    gate,
    { id: command.findingId, what: 'fix' },
    { actor, decision: 'approve', roles: ctx.config.roles, now, signer: ctx.signer },
  );
  if (!decided.ok) throw decided.error;
  if (!(await store.markApproved(command.findingId, actor.id))) {
    throw new TunnelgateError('CONFLICT', `fix ${command.findingId} is already approved`);
  }
  await store.saveGate(known, decided.gate);
  const jobId = await ctx.queues.addHub(
    {
      kind: 'fix',
      hub: known.hub,
      findingId: known.finding.id,
      proposedBy,
      approvedBy: UserId.parse(actor.id),
      digest: gate.subject,
    },
    { jobId: `fix-${known.finding.id}-${now.getTime()}` },
  );
  await ctx.audit.append({
    at: now.toISOString(),
    actor: actor.id,
    action: 'fix-approve',
    hub: known.hub,
    target: command.findingId,
    result: 'queued',
    detail: known.finding.check,
  });
  return [
    toActor(
      actor,
      { kind: 'job.queued', jobId, text: `applying fix ${known.finding.id} on ${known.hub}…` },
      { jobId },
    ),
  ];
}

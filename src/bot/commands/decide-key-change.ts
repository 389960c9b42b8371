/**
 * `/vpn approve k-…` and `/vpn deny k-…`: leads decide a key change through the gate. Once it has
 * its approvals the rotation starts with the supplied key, carrying the gate for the worker's
 * re-check (workers/rotation-authority.ts).
 */
import { TunnelgateError } from '../../core/errors.js';
import { approvers } from '../../domain/gate.js';
import type { Actor } from '../../domain/models/command.js';
import type { Message } from '../../domain/models/reply.js';
import { KeyChangeStore } from '../../store/key-changes.js';
import { type BotContext, toActor, toRecipient } from '../context.js';
import { type DecisionInput, decidePending, type PendingDecision } from '../gate-decision.js';
import { startRotation } from '../key-rotation.js';

/** Records the decision; throws FORBIDDEN (non-lead, the asker), CONFLICT (decided, lapsed, stale). */
export async function decideKeyChange(
  ctx: BotContext,
  actor: Actor,
  id: string,
  decision: DecisionInput,
): Promise<Message[]> {
  const store = new KeyChangeStore(ctx.redis, ctx.keys);
  const now = ctx.clock();
  let outcome = 'unchanged' as PendingDecision['outcome'];
  const decided = await store.update(id, (current) => {
    if (current.state !== 'pending') {
      throw new TunnelgateError('CONFLICT', `key change ${id} was already ${current.state}`);
    }
    const step = decidePending(ctx, actor, decision, current.gate, { id, what: 'key change' }, now);
    outcome = step.outcome;
    if (step.outcome === 'unchanged') return { keep: true };
    return { write: { ...current, gate: step.gate, state: step.state } };
  });
  const tally = `${approvers(decided.gate).length} of ${decided.gate.required}`;
  await ctx.audit.append({
    at: now.toISOString(),
    actor: actor.id,
    action: 'rotate',
    hub: decided.hub,
    target: decided.peer,
    result: outcome === 'denied' ? 'refused' : outcome === 'approved' ? 'queued' : 'pending',
    detail: `${id}: ${decision.approve ? 'approved' : 'denied'} (${tally})`,
  });
  const asker = { type: 'user' as const, id: decided.asker };
  if (outcome !== 'approved') {
    const text =
      outcome === 'denied'
        ? `${actor.id} denied key change ${id} of ${decided.peer}${!decision.approve && decision.reason ? `: ${decision.reason}` : ''}`
        : `${actor.id} approved key change ${id} of ${decided.peer} (${tally} approvals)`;
    return [toActor(actor, { kind: 'notice', text }), toRecipient(asker, { kind: 'notice', text })];
  }
  const record = await ctx.inventory.find(decided.hub, decided.oldPublicKey);
  if (record === null || record.owner !== decided.owner) {
    throw new TunnelgateError('CONFLICT', `${decided.peer} no longer holds the key ${id} was asked for`, {
      hint: 'it was rotated or removed since: ask again if still needed',
    });
  }
  const started = await startRotation(ctx, record, {
    by: { id: decided.asker, platformRoles: decided.askerRoles },
    publicKey: decided.newPublicKey,
    approval: { id: decided.id, gate: decided.gate },
  });
  const text = `key change ${id} approved (${tally}): rotating ${decided.peer} to the supplied key`;
  return [
    toActor(actor, { kind: 'notice', text }),
    started,
    toRecipient(
      { type: 'user', id: decided.owner },
      { kind: 'notice', text: `${text}, asked by ${decided.asker}` },
    ),
  ];
}

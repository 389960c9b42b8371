/**
 * A lead's `/vpn approve` or `/vpn deny [reason]` on a record that waits behind a gate (an
 * extension, a key change): the decision through the one gate, and the record's state after it.
 */
import { decide, type Gate, type GateSubject } from '../domain/gate.js';
import type { Actor } from '../domain/models/command.js';
import type { BotContext } from './context.js';

/** What the lead decided. */
export type DecisionInput = { approve: true } | { approve: false; reason?: string };

/** The gate after the decision, and what the record waiting on it becomes. */
export type PendingDecision =
  | { outcome: 'unchanged' }
  | { outcome: 'recorded' | 'approved' | 'denied'; gate: Gate; state: 'pending' | 'approved' | 'denied' };

/**
 * Records `actor`'s decision on `gate`. Throws what the gate refuses: FORBIDDEN (not a lead, or
 * excluded) or CONFLICT (no longer open).
 */
export function decidePending(
  ctx: Pick<BotContext, 'config' | 'signer'>,
  actor: Actor,
  decision: DecisionInput,
  gate: Gate,
  subject: GateSubject,
  now: Date,
): PendingDecision {
  const step = decide(gate, subject, {
    actor,
    decision: decision.approve ? 'approve' : 'deny',
    ...(!decision.approve && decision.reason !== undefined ? { reason: decision.reason } : {}),
    roles: ctx.config.roles,
    now,
    signer: ctx.signer,
  });
  if (!step.ok) throw step.error;
  if (step.outcome === 'unchanged') return { outcome: 'unchanged' };
  const state = step.outcome === 'recorded' ? 'pending' : step.outcome;
  return { outcome: step.outcome, gate: step.gate, state };
}

/**
 * `/vpn approve x-…` and `/vpn deny x-…`: a lead decides an extension through the gate (never the
 * asker or the owner). Approval moves the expiry in the inventory and the request, queues its
 * write into the hub's config file (workers/set-expiry.ts) and one more link of the expiry chain.
 */
import { TunnelgateError } from '../../core/errors.js';
import { denial } from '../../domain/gate.js';
import type { Actor } from '../../domain/models/command.js';
import type { Extension } from '../../domain/models/extension.js';
import type { Message } from '../../domain/models/reply.js';
import { expireJobId, setExpiryJobId } from '../../queue/job-ids.js';
import { type BotContext, toActor, toRecipient } from '../context.js';
import { type DecisionInput, decidePending } from '../gate-decision.js';
import { extensionStore } from './extend.js';

/**
 * Records the decision. Throws FORBIDDEN for non-leads, the asker and the owner; CONFLICT when it
 * was already decided, has lapsed, or the peer is no longer time-bound; NOT_FOUND for an unknown id.
 */
export async function decideExtension(
  ctx: BotContext,
  actor: Actor,
  id: string,
  decision: DecisionInput,
): Promise<Message[]> {
  const extensions = extensionStore(ctx);
  const pending = await extensions.find(id);
  if (pending === null) throw new TunnelgateError('NOT_FOUND', `there is no extension request ${id}`);
  const now = ctx.clock();
  let expiresAt: string | undefined;
  let record = null;
  if (decision.approve) {
    record = await ctx.inventory.findByRequest(pending.hub, pending.requestId);
    if (record === null || record.expiresAt === null) {
      throw new TunnelgateError('CONFLICT', `${pending.peer} is no longer time-bound on ${pending.hub}`, {
        hint: 'its access may have ended already: send a new /vpn request',
      });
    }
    const from = Math.max(now.getTime(), Date.parse(record.expiresAt));
    expiresAt = new Date(from + pending.forMs).toISOString();
  }
  const decided = await extensions.update(id, (current) => {
    if (current.state !== 'pending') {
      throw new TunnelgateError('CONFLICT', `extension ${id} was already ${current.state}`, {
        hint: `ask for another with /vpn extend ${current.peer} <duration>`,
      });
    }
    const step = decidePending(ctx, actor, decision, current.gate, { id, what: 'extension' }, now);
    if (step.outcome === 'unchanged') return { keep: true };
    const { state } = step;
    return {
      write: {
        ...current,
        gate: step.gate,
        state,
        ...(state === 'approved' && expiresAt ? { expiresAt } : {}),
      },
    };
  });
  if (decided.state === 'denied') {
    await ctx.audit.append({
      at: now.toISOString(),
      actor: actor.id,
      action: 'extend',
      hub: decided.hub,
      target: decided.peer,
      result: 'refused',
      detail: id,
    });
    const reason = denial(decided.gate)?.reason;
    return decidedMessages(actor, decided, {
      kind: 'extension.decided',
      id: decided.id,
      peer: decided.peer,
      by: actor.id,
      approved: false,
      ...(reason === undefined ? {} : { reason }),
    });
  }
  if (record === null || decided.expiresAt === undefined) {
    throw new TunnelgateError('CONFLICT', `extension ${id} is ${decided.state}; nothing was changed`);
  }
  const until = decided.expiresAt;
  await ctx.inventory.put({ ...record, expiresAt: until });
  await ctx.requests.update(record.requestId, (request) => ({
    ok: true,
    request: {
      ...request,
      expiresAt: until,
      history: [
        ...request.history,
        { at: now.toISOString(), by: actor.id, event: 'extended', detail: `${id}: until ${until}` },
      ],
    },
  }));
  // The hub's config file is the durable record: it gets the new expiry too.
  await ctx.queues.addHub(
    { kind: 'set-expiry', hub: record.hub, peer: record.peer, requestId: record.requestId },
    { jobId: setExpiryJobId(record.requestId, until) },
  );
  const warnAt = Date.parse(until) - ctx.config.policy.expiryWarning;
  await ctx.queues.addHub(
    { kind: 'expire', hub: record.hub, peer: record.peer, requestId: record.requestId },
    { delayMs: Math.max(0, warnAt - now.getTime()), jobId: `${expireJobId(record.requestId)}-w${warnAt}` },
  );
  await ctx.audit.append({
    at: now.toISOString(),
    actor: actor.id,
    action: 'extend',
    hub: record.hub,
    target: record.peer,
    result: 'ok',
    detail: `${id}: until ${until}`,
  });
  return decidedMessages(actor, decided, {
    kind: 'extension.decided',
    id: decided.id,
    peer: decided.peer,
    by: actor.id,
    approved: true,
    expiresAt: until,
  });
}

function decidedMessages(actor: Actor, extension: Extension, reply: Message['reply']): Message[] {
  const messages = [toActor(actor, reply)];
  for (const id of new Set([extension.requester, extension.owner])) {
    messages.push(toRecipient({ type: 'user', id }, reply));
  }
  return messages;
}

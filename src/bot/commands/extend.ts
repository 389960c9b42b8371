/**
 * `/vpn extend <peer> <duration>`: time-bound access goes back through the approval gate. The
 * owner (or a lead) asks; a lead who is neither the asker nor the owner approves or denies it with
 * `/vpn approve <id>` / `/vpn deny <id>` (see {@link decideExtension}). Approval moves the expiry in
 * the inventory and the request and queues its write into the hub's config file
 * (workers/set-expiry.ts); the peer's expiry chain (workers/expiry.ts) reads it from the inventory,
 * and one more link is queued for the new warning time.
 */
import { TunnelgateError } from '../../core/errors.js';
import type { Actor, Command } from '../../domain/models/command.js';
import type { Message } from '../../domain/models/reply.js';
import { isLead } from '../../domain/roles.js';
import { expireJobId, setExpiryJobId } from '../../queue/job-ids.js';
import { type Extension, ExtensionStore } from '../../store/extensions.js';
import { type BotContext, newRequestId, toActor, toRecipient } from '../context.js';
import { ownedOrLedPeer } from '../peer-access.js';

type ExtendCommand = Extract<Command, { verb: 'extend' }>;

function store(ctx: BotContext): ExtensionStore {
  return new ExtensionStore(ctx.redis, ctx.config.redis.prefix);
}

export async function handleExtend(
  ctx: BotContext,
  actor: Actor,
  command: ExtendCommand,
): Promise<Message[]> {
  const record = await ownedOrLedPeer(ctx, actor, command.peer, 'ask to extend');
  if (record.expiresAt === null) {
    throw new TunnelgateError('CONFLICT', `${record.peer} has permanent access; there is nothing to extend`);
  }
  let id = newRequestId();
  while ((await ctx.requests.find(id)) !== null) id = newRequestId();
  const now = ctx.clock();
  const extension: Extension = {
    id: id as Extension['id'],
    requestId: record.requestId,
    peer: record.peer,
    hub: record.hub,
    owner: record.owner,
    requester: actor.id,
    forMs: command.forMs,
    state: 'pending',
    createdAt: now.toISOString(),
  };
  await store(ctx).create(extension);
  await ctx.audit.append({
    at: now.toISOString(),
    actor: actor.id,
    action: 'extend',
    hub: record.hub,
    target: record.peer,
    result: 'pending',
    detail: `${id} by ${command.forMs}ms`,
  });
  const reply = {
    kind: 'extension.pending' as const,
    id: extension.id,
    peer: record.peer,
    hub: record.hub,
    owner: record.owner,
    requester: actor.id,
    forMs: command.forMs,
    expiresAt: record.expiresAt,
  };
  return [
    toActor(actor, { ...reply, review: false }),
    toRecipient({ type: 'leads' }, { ...reply, review: true }, false),
  ];
}

/**
 * `/vpn approve|deny <id>` for an extension id; null when `id` is not an extension (then it is an
 * access request). Throws FORBIDDEN for non-leads, the asker and the owner; CONFLICT when it was
 * already decided or the peer is gone.
 */
export async function decideExtension(
  ctx: BotContext,
  actor: Actor,
  id: string,
  decision: { approve: true } | { approve: false; reason?: string },
): Promise<Message[] | null> {
  const extensions = store(ctx);
  const pending = await extensions.find(id);
  if (pending === null) return null;
  const verb = decision.approve ? 'approve' : 'deny';
  if (!isLead(actor, ctx.config.roles)) {
    throw new TunnelgateError('FORBIDDEN', `only leads can ${verb} extensions`, { hint: 'ask a lead' });
  }
  if (actor.id === pending.requester || actor.id === pending.owner) {
    throw new TunnelgateError(
      'FORBIDDEN',
      `you cannot ${verb} an extension of your own or that you asked for`,
      {
        hint: 'another lead has to decide it',
      },
    );
  }
  const now = ctx.clock();
  if (!decision.approve) {
    const denied = await extensions.decide(id, (e) => ({ ...e, state: 'denied', decidedBy: actor.id }));
    await ctx.audit.append({
      at: now.toISOString(),
      actor: actor.id,
      action: 'extend',
      hub: denied.hub,
      target: denied.peer,
      result: 'refused',
      detail: id,
    });
    const reply = {
      kind: 'extension.decided' as const,
      id: denied.id,
      peer: denied.peer,
      by: actor.id,
      approved: false,
      ...(decision.reason === undefined ? {} : { reason: decision.reason }),
    };
    return decidedMessages(actor, denied, reply);
  }

  const record = await ctx.inventory.findByRequest(pending.hub, pending.requestId);
  if (record === null || record.expiresAt === null) {
    throw new TunnelgateError('CONFLICT', `${pending.peer} is no longer time-bound on ${pending.hub}`, {
      hint: 'its access may have ended already: send a new /vpn request',
    });
  }
  const from = Math.max(now.getTime(), Date.parse(record.expiresAt));
  const expiresAt = new Date(from + pending.forMs).toISOString();
  const approved = await extensions.decide(id, (e) => ({
    ...e,
    state: 'approved',
    decidedBy: actor.id,
    expiresAt,
  }));
  await ctx.inventory.put({ ...record, expiresAt });
  await ctx.requests.update(record.requestId, (request) => ({
    ok: true,
    request: {
      ...request,
      expiresAt,
      history: [
        ...request.history,
        { at: now.toISOString(), by: actor.id, event: 'extended', detail: `${id}: until ${expiresAt}` },
      ],
    },
  }));
  // The hub's config file is the durable record: it gets the new expiry too.
  await ctx.queues.addHub(
    { kind: 'set-expiry', hub: record.hub, peer: record.peer, requestId: record.requestId },
    { jobId: setExpiryJobId(record.requestId, expiresAt) },
  );
  const warnAt = Date.parse(expiresAt) - ctx.config.policy.expiryWarning;
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
    detail: `${id}: until ${expiresAt}`,
  });
  return decidedMessages(actor, approved, {
    kind: 'extension.decided',
    id: approved.id,
    peer: approved.peer,
    by: actor.id,
    approved: true,
    expiresAt,
  });
}

function decidedMessages(actor: Actor, extension: Extension, reply: Message['reply']): Message[] {
  const messages = [toActor(actor, reply)];
  for (const id of new Set([extension.requester, extension.owner])) {
    messages.push(toRecipient({ type: 'user', id }, reply));
  }
  return messages;
}

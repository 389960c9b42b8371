/**
 * `/vpn extend <peer> <duration>`: time-bound access goes back through the approval gate. The
 * owner (or a lead) asks; a lead who is neither the asker nor the owner approves or denies it with
 * `/vpn approve x-…` / `/vpn deny x-…` (commands/decide-extension.ts). Approval moves the expiry in
 * the inventory and the request and queues its write into the hub's config file
 * (workers/set-expiry.ts); the peer's expiry chain (workers/expiry.ts) reads it from the inventory,
 * and one more link is queued for the new warning time.
 */
import { TunnelgateError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { openGate } from '../../domain/gate.js';
import type { Actor, Command } from '../../domain/models/command.js';
import { type Extension, extensionSubject } from '../../domain/models/extension.js';
import type { Message } from '../../domain/models/reply.js';
import { ExtensionStore } from '../../store/extensions.js';
import { type BotContext, toActor, toRecipient } from '../context.js';
import { ownedOrLedPeer } from '../peer-access.js';

type ExtendCommand = Extract<Command, { verb: 'extend' }>;

/** The extension requests of this deployment. */
export function extensionStore(ctx: BotContext): ExtensionStore {
  return new ExtensionStore(ctx.redis, ctx.keys);
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
  const id = newId('x');
  const now = ctx.clock();
  const asked = {
    id: id as Extension['id'],
    requestId: record.requestId,
    peer: record.peer,
    hub: record.hub,
    owner: record.owner,
    requester: actor.id,
    forMs: command.forMs,
    createdAt: now.toISOString(),
  };
  const extension: Extension = {
    ...asked,
    state: 'pending',
    // One lead who is neither the asker nor the owner decides it.
    gate: openGate({
      required: 1,
      excluded: [actor.id, record.owner],
      subject: extensionSubject(asked),
      until: new Date(now.getTime() + ctx.config.policy.requestTtl).toISOString(),
    }),
  };
  await extensionStore(ctx).create(extension);
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

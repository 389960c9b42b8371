/**
 * `/vpn rotate <peer> --pubkey KEY` by a lead who is not the owner: records a `k-` key change for
 * the leads instead of rotating at once (see commands/decide-key-change.ts).
 */
import { newId } from '../../core/ids.js';
import { requiredApprovals } from '../../domain/approval.js';
import { openGate } from '../../domain/gate.js';
import type { Actor } from '../../domain/models/command.js';
import { type KeyChange, keyChangeSubject } from '../../domain/models/key-change.js';
import type { PeerRecord } from '../../domain/models/peer.js';
import type { Message } from '../../domain/models/reply.js';
import { KeyChangeStore } from '../../store/key-changes.js';
import type { PublicKey } from '../../wg/keys.js';
import { type BotContext, toActor, toRecipient } from '../context.js';

/** Records the key change and asks the leads; nothing changes on the hub yet. */
export async function askForKeyChange(
  ctx: BotContext,
  actor: Actor,
  record: PeerRecord,
  publicKey: PublicKey,
): Promise<Message[]> {
  const now = ctx.clock();
  const asked = {
    id: newId('k') as KeyChange['id'],
    hub: record.hub,
    peer: record.peer,
    owner: record.owner,
    asker: actor.id,
    oldPublicKey: record.publicKey,
    newPublicKey: publicKey,
  };
  const required = requiredApprovals(record.mode, ctx.config.policy);
  const change: KeyChange = {
    ...asked,
    askerRoles: [...actor.platformRoles],
    state: 'pending',
    createdAt: now.toISOString(),
    gate: openGate({
      required,
      excluded: [actor.id],
      subject: keyChangeSubject(asked),
      until: new Date(now.getTime() + ctx.config.policy.requestTtl).toISOString(),
    }),
  };
  await new KeyChangeStore(ctx.redis, ctx.keys).create(change);
  await ctx.audit.append({
    at: now.toISOString(),
    actor: actor.id,
    action: 'rotate',
    hub: record.hub,
    target: record.peer,
    result: 'pending',
    detail: `${change.id}: key ${publicKey.slice(0, 8)}… supplied by ${actor.id}`,
  });
  const leads = `${required} ${required === 1 ? 'lead' : 'leads'} other than ${actor.id}`;
  return [
    toActor(actor, {
      kind: 'notice',
      text: `${record.peer} belongs to ${record.owner}: putting a key you supplied on it needs ${leads}. Asked as ${change.id}.`,
    }),
    toRecipient(
      { type: 'leads' },
      {
        kind: 'notice',
        text: `${actor.id} asks to move ${record.peer} (owner ${record.owner}, ${record.mode} tunnel on ${record.hub}) to a key they supplied (${publicKey}). It needs ${leads}: /vpn approve ${change.id} or /vpn deny ${change.id} <reason>.`,
      },
      false,
    ),
  ];
}

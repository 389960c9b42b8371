/**
 * The peer a command is about, when the actor may act on it: its owner, or a lead. Shared by
 * revoke, rotate and extend so the rule and its messages stay one.
 */
import { TunnelgateError } from '../core/errors.js';
import type { Actor } from '../domain/models/command.js';
import type { PeerRecord } from '../domain/models/peer.js';
import { isLead } from '../domain/roles.js';
import type { BotContext } from './context.js';

/**
 * Finds `peer` on any hub. Throws NOT_FOUND when there is none, FORBIDDEN (`only <owner> or a
 * lead can <action> <peer>`) when the actor is neither its owner nor a lead.
 */
export async function ownedOrLedPeer(
  ctx: BotContext,
  actor: Actor,
  peer: string,
  action: string,
): Promise<PeerRecord> {
  const record = await ctx.inventory.findByName(
    ctx.config.hubs.map((h) => h.name),
    peer,
  );
  if (record === null) {
    throw new TunnelgateError('NOT_FOUND', `there is no peer ${peer}`, {
      hint: 'see your peers with /vpn list',
    });
  }
  if (record.owner !== actor.id && !isLead(actor, ctx.config.roles)) {
    throw new TunnelgateError('FORBIDDEN', `only ${record.owner} or a lead can ${action} ${record.peer}`);
  }
  return record;
}

/**
 * A key change waiting for leads: `/vpn rotate <peer> --pubkey KEY` by anyone but the peer's owner
 * would move the owner's address (and what it may reach) to a key someone else holds, so it needs
 * the peer's mode's number of distinct leads, never the asker (`/vpn approve k-…`).
 */
import { z } from 'zod';
import { HubName, KeyChangeId, PeerName, UserId } from '../../core/ids.js';
import { PublicKey } from '../../wg/keys.js';
import { Gate, subjectDigest } from '../gate.js';

export const KeyChange = z.object({
  id: KeyChangeId,
  hub: HubName,
  peer: PeerName,
  owner: UserId,
  /** Who asked, with the platform roles they held. */
  asker: UserId,
  askerRoles: z.array(z.string()).default([]),
  oldPublicKey: PublicKey,
  newPublicKey: PublicKey,
  state: z.enum(['pending', 'approved', 'denied']),
  createdAt: z.string(),
  gate: Gate,
});
export type KeyChange = z.infer<typeof KeyChange>;

/** What the deciders of a key change decide on: this peer, from this key to that one, asked by whom. */
export function keyChangeSubject(
  c: Pick<KeyChange, 'id' | 'hub' | 'peer' | 'owner' | 'asker' | 'oldPublicKey' | 'newPublicKey'>,
): string {
  return subjectDigest({
    kind: 'key-change',
    id: c.id,
    hub: c.hub,
    peer: c.peer,
    owner: c.owner,
    asker: c.asker,
    oldPublicKey: c.oldPublicKey,
    newPublicKey: c.newPublicKey,
  });
}

/**
 * A request to extend time-bound access (`/vpn extend`): decided through the gate by a lead who is
 * neither the asker nor the owner, with `/vpn approve x-…` / `/vpn deny x-…`.
 */
import { z } from 'zod';
import { ExtensionId, HubName, PeerName, RequestId, UserId } from '../../core/ids.js';
import { Gate, subjectDigest } from '../gate.js';

export const ExtensionState = z.enum(['pending', 'approved', 'denied']);
export type ExtensionState = z.infer<typeof ExtensionState>;

export const Extension = z.object({
  id: ExtensionId,
  /** The access request of the time-bound peer. */
  requestId: RequestId,
  peer: PeerName,
  hub: HubName,
  owner: UserId,
  /** Who asked; never the approver. */
  requester: UserId,
  /** How much longer, in ms, counted from the expiry in force when it is approved. */
  forMs: z.number().int().positive(),
  state: ExtensionState,
  createdAt: z.string(),
  gate: Gate,
  /** The new expiry, once approved (ISO). */
  expiresAt: z.string().optional(),
});
export type Extension = z.infer<typeof Extension>;

/** What the deciders of an extension decide on. */
export function extensionSubject(e: Omit<Extension, 'gate' | 'state' | 'expiresAt'>): string {
  return subjectDigest({
    kind: 'extension',
    id: e.id,
    requestId: e.requestId,
    peer: e.peer,
    hub: e.hub,
    owner: e.owner,
    requester: e.requester,
    forMs: e.forMs,
  });
}

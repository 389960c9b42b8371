/**
 * The request record of an adopted peer. A peer made by hand gets one, so that revoke, rotation,
 * expiry and the audit trail find it like any other: it is `provisioned` from the moment of
 * adoption, and its gate holds the signed approval of the lead who adopted it.
 */
import type { RolesConfig } from '../config/schema.js';
import type { DeviceName, HubName, PeerName, RequestId, UserId } from '../core/ids.js';
import type { PublicKey } from '../wg/keys.js';
import { requestSubject } from './approval.js';
import { decide, openGate } from './gate.js';
import type { Actor } from './models/command.js';
import type { AccessRequest } from './models/request.js';
import type { Signer } from './signer.js';

/** What an adoption knows about the peer. */
export interface Adoption {
  id: RequestId;
  owner: UserId;
  device: DeviceName;
  peer: PeerName;
  hub: HubName;
  publicKey: PublicKey;
  address: string;
  address6?: string;
}

/**
 * The provisioned request of an adopted peer, approved by `lead` through the gate (so a non-lead
 * is refused here too). Throws the gate's FORBIDDEN error otherwise.
 */
export function adoptedRequest(
  adoption: Adoption,
  decider: { lead: Actor; roles: RolesConfig; signer: Signer; now: Date },
): AccessRequest {
  const at = decider.now.toISOString();
  const draft: Omit<AccessRequest, 'gate'> = {
    ...adoption,
    requester: adoption.owner,
    mode: 'split',
    generatedKey: false,
    state: 'provisioned',
    createdAt: at,
    provisionedAt: at,
    history: [
      {
        at,
        by: decider.lead.id,
        event: 'adopted',
        detail: 'a peer made outside Tunnelgate, put under management',
      },
    ],
  };
  const gate = openGate({
    required: 1,
    excluded: [],
    subject: requestSubject(draft),
    until: new Date(decider.now.getTime() + 1).toISOString(),
  });
  const decided = decide(
    gate,
    { id: adoption.id, what: 'adoption' },
    {
      actor: decider.lead,
      decision: 'approve',
      roles: decider.roles,
      now: decider.now,
      signer: decider.signer,
    },
  );
  if (!decided.ok) throw decided.error;
  return { ...draft, gate: decided.gate };
}

/** Inventory records as the playbook and audit see them. */
import type { PeerRecord } from '../domain/models/peer.js';
import type { KnownPeer } from './playbook.js';

/** The fields the runbooks need from each record. */
export function knownPeers(records: readonly PeerRecord[]): KnownPeer[] {
  return records.map((r) => ({
    peer: r.peer,
    publicKey: r.publicKey,
    address: r.address,
    mode: r.mode,
    ...(r.clientKeepalive === undefined ? {} : { clientKeepalive: r.clientKeepalive }),
  }));
}

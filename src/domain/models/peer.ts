/**
 * A provisioned peer as the inventory knows it. The hub's config file carries the same facts in
 * its `# tunnelgate:` comments, so the inventory can always be rebuilt from the hubs.
 */
import { z } from 'zod';
import { DeviceName, HubName, PeerName, RequestId, UserId } from '../../core/ids.js';
import { PublicKey } from '../../wg/keys.js';
import { TunnelMode } from './request.js';

export const PeerRecord = z.object({
  peer: PeerName,
  owner: UserId,
  device: DeviceName,
  hub: HubName,
  publicKey: PublicKey,
  /** Tunnel address with prefix length, e.g. `10.6.0.7/32`. */
  address: z.string(),
  address6: z.string().optional(),
  /**
   * AllowedIPs the hub routes to this peer besides its tunnel address(es), e.g. an office gateway's
   * LAN (`192.168.50.0/24`); only adopted peers have them. Kept through a key rotation.
   */
  routes: z.array(z.string()).optional(),
  mode: TunnelMode,
  requestId: RequestId,
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  /**
   * PersistentKeepalive (seconds; 0 = none) of the client config the bot delivered for this key.
   * Unset = unknown: records from before it was kept, or rebuilt from a hub's config file.
   */
  clientKeepalive: z.number().int().min(0).max(65_535).optional(),
});
export type PeerRecord = z.infer<typeof PeerRecord>;

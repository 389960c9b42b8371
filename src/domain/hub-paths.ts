/** Files on a hub that more than one part of Tunnelgate writes. */

/**
 * The forwarding sysctl drop-in: written by `tunnelgate hub bootstrap --routing` and by an
 * approved enable-forwarding fix, so forwarding survives a reboot either way.
 */
export const FORWARD_DROP_IN = '/etc/sysctl.d/99-tunnelgate-forward.conf';

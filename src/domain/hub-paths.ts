/** Paths on a hub that more than one part of Tunnelgate knows. */

/**
 * The forwarding sysctl drop-in: written by `tunnelgate hub bootstrap --routing` and by an
 * approved enable-forwarding fix, so forwarding survives a reboot either way.
 */
export const FORWARD_DROP_IN = '/etc/sysctl.d/99-tunnelgate-forward.conf';

/** Where bootstrapped hubs keep the hub programs, one root-owned file per name. */
export const HUB_PROGRAM_DIR = '/usr/local/lib/tunnelgate';

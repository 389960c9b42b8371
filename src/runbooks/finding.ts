/**
 * Building findings: a stable id per (hub, check, subject), and the guide's common-mistakes
 * table as data, so every root cause and fix in a report reads the same.
 */
import { createHash } from 'node:crypto';
import type { Finding, FixAction, Severity } from '../domain/models/diagnosis.js';

const ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';

/** `f-` + 8 characters of sha256(hub, check, subject): the same problem keeps its id across runs. */
export function findingId(hub: string, check: string, subject: string): string {
  const digest = createHash('sha256').update(`${hub}\0${check}\0${subject}`).digest();
  let id = 'f-';
  for (let i = 0; i < 8; i++) id += ALPHABET[(digest[i] ?? 0) % ALPHABET.length];
  return id;
}

/** The guide's "Common mistakes" rows this code cites: root cause and fix. */
export const MISTAKES = {
  noHandshakeBlocked: {
    cause:
      'UDP port blocked (cloud firewall, ISP, wrong port forward) or the server-side firewall dropping UDP (common mistake 1)',
    fix: 'allow the WireGuard UDP port in the input chain, then check that packets arrive',
  },
  noHandshakeKeys: {
    cause:
      'wrong keys: packets arrive but the handshake fails (wrong hub public key in the client config, or the hub holds another key for the client)',
    fix: "re-deliver the client config with this hub's public key, or revoke and re-request the peer",
  },
  staleNoKeepalive: {
    cause:
      'the client handshook and then went quiet behind a NAT or stateful firewall that forgot its UDP mapping: no keepalive is set (common mistake 6: works from home Wi-Fi but not from mobile)',
    fix: "set PersistentKeepalive = 25 in the [Peer] section of the client's config, on the client (not on the hub: for road-warrior clients the client is the side behind NAT)",
  },
  noPing: {
    cause:
      "server firewall drops traffic on wg0 (input doesn't allow it), or the client's Address/AllowedIPs is wrong (common mistake 2)",
    fix: 'allow input on wg0 (or permit ICMP for debugging); confirm the peer AllowedIPs holds its /32',
  },
  fullTunnel: {
    cause: 'missing IP forwarding and/or NAT masquerade on the server (common mistake 3)',
    fix: 'enable net.ipv4.ip_forward=1 and add an nftables masquerade from the wg subnet to the egress interface',
  },
  mtu: {
    cause: 'MTU mismatch causing fragmentation/blackholing (common mistake 4)',
    fix: 'reduce the wg0 MTU (try 1420 → 1380 → 1360; below the path MTU minus 80)',
  },
  overlap: {
    cause:
      'two peers configured with overlapping AllowedIPs: one client knocks the other offline (common mistake 5)',
    fix: 'make peer AllowedIPs unique: /32 per client, one peer per site subnet',
  },
} as const;

/** A finding with its id derived from hub, check and subject. */
export function finding(
  hub: string,
  fields: {
    check: string;
    subject?: string;
    severity: Severity;
    title: string;
    evidence: readonly string[];
    cause: string;
    fix: string;
    action?: FixAction;
  },
): Finding {
  const { subject = '', evidence, action, ...rest } = fields;
  return {
    id: findingId(hub, fields.check, subject),
    ...rest,
    evidence: [...evidence],
    ...(action === undefined ? {} : { action }),
  };
}

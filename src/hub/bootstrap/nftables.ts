/**
 * THE hub firewall, from the hub setup guide (Tasks 7 and 14), as a pure function of the hub's
 * parameters: inbound is dropped except replies, loopback, WireGuard's one UDP port, SSH from the
 * trusted sources only, and ICMP; nothing is forwarded except replies, unless routing is asked
 * for (then the tunnel may leave by the egress interface, masqueraded); outbound is open. Lab hubs
 * and `tunnelgate hub bootstrap` both render it here.
 */
import { TunnelgateError } from '../../core/errors.js';
import { tryParseAddress, tryParseCidr } from '../../wg/cidr.js';

/** Full-tunnel routing: what may leave through the hub, and from where. */
export interface RulesetRouting {
  /** The WireGuard interface, e.g. `wg0`. */
  wgInterface: string;
  /** The interface toward the internet, e.g. `eth0`. */
  egressInterface: string;
  /** The tunnel subnets masqueraded on the way out (IPv4 and/or IPv6). */
  subnets: readonly string[];
}

/** What the ruleset depends on. */
export interface RulesetOptions {
  /** Addresses or CIDRs allowed to reach sshd; at least one (IPv4 and/or IPv6). */
  sshFrom: readonly string[];
  /** WireGuard's UDP port (default 51820). */
  listenPort?: number;
  /** sshd's TCP port (default 22). */
  sshPort?: number;
  /** Forwarding and NAT for full-tunnel or site routes; off by default. */
  routing?: RulesetRouting;
}

const INTERFACE = /^[a-zA-Z0-9_-]{1,15}$/;

function family(source: string): 4 | 6 {
  const parsed = tryParseCidr(source) ?? tryParseAddress(source);
  if (parsed === null)
    throw new TunnelgateError('INPUT_INVALID', `nftables: not an address or CIDR: ${source}`);
  return parsed.family;
}

function port(value: number | undefined, fallback: number): number {
  const p = value ?? fallback;
  if (!Number.isInteger(p) || p < 1 || p > 65_535)
    throw new TunnelgateError('INPUT_INVALID', `nftables: not a port: ${p}`);
  return p;
}

/** `ip saddr X` for one source, `ip saddr { X, Y }` for several. */
function saddr(keyword: 'ip' | 'ip6', sources: readonly string[]): string {
  const set = sources.length === 1 ? sources[0] : `{ ${sources.join(', ')} }`;
  return `${keyword} saddr ${set}`;
}

/**
 * The ruleset text; starts with `flush ruleset`, so loading it again replaces it. Throws
 * INPUT_INVALID for no SSH source, a source that is not an address or CIDR, a bad port or
 * interface name, or a routed subnet that is not a CIDR.
 */
export function renderRuleset(options: RulesetOptions): string {
  if (options.sshFrom.length === 0)
    throw new TunnelgateError('INPUT_INVALID', 'nftables: give at least one trusted SSH source', {
      hint: 'pass --ssh-from CIDR (e.g. your office or bastion address)',
    });
  const listenPort = port(options.listenPort, 51820);
  const sshPort = port(options.sshPort, 22);
  const v4 = options.sshFrom.filter((s) => family(s) === 4);
  const v6 = options.sshFrom.filter((s) => family(s) === 6);
  const ssh = [
    ...(v4.length > 0 ? [`    ${saddr('ip', v4)} tcp dport ${sshPort} accept`] : []),
    ...(v6.length > 0 ? [`    ${saddr('ip6', v6)} tcp dport ${sshPort} accept`] : []),
  ];
  const forward: string[] = [];
  const nat: string[] = [];
  const routing = options.routing;
  if (routing !== undefined) {
    for (const name of [routing.wgInterface, routing.egressInterface]) {
      if (!INTERFACE.test(name))
        throw new TunnelgateError('INPUT_INVALID', `nftables: bad interface ${name}`);
    }
    forward.push(`    iifname "${routing.wgInterface}" oifname "${routing.egressInterface}" accept`);
    for (const subnet of routing.subnets) {
      const parsed = tryParseCidr(subnet);
      if (parsed === null) throw new TunnelgateError('INPUT_INVALID', `nftables: not a CIDR: ${subnet}`);
      const table = parsed.family === 4 ? 'ip' : 'ip6';
      nat.push(
        '',
        `table ${table} nat {`,
        '  chain postrouting {',
        '    type nat hook postrouting priority srcnat; policy accept;',
        `    oifname "${routing.egressInterface}" ${table} saddr ${subnet} masquerade`,
        '  }',
        '}',
      );
    }
  }
  return `${[
    'flush ruleset',
    '',
    'table inet filter {',
    '  chain input {',
    '    type filter hook input priority filter; policy drop;',
    '    ct state established,related accept',
    '    iif "lo" accept',
    `    udp dport ${listenPort} accept`,
    ...ssh,
    '    ip protocol icmp accept',
    '    ip6 nexthdr icmpv6 accept',
    '    counter reject with icmpx type port-unreachable',
    '  }',
    '',
    '  chain forward {',
    '    type filter hook forward priority filter; policy drop;',
    '    ct state established,related accept',
    ...forward,
    '  }',
    '',
    '  chain output {',
    '    type filter hook output priority filter; policy accept;',
    '  }',
    '}',
    ...nat,
  ].join('\n')}\n`;
}

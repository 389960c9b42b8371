/**
 * Active, read-only probes from the hub: an echo request to a peer's tunnel address, and a
 * don't-fragment probe toward a peer's endpoint sized for the WireGuard MTU (what an encrypted
 * full-size packet needs on the path).
 */
import { hubProgram, programStep } from '../programs/registry.js';
import type { Step } from '../ssh/remote-script.js';

/** Step `ping-<i>`: one echo request with a 1 s deadline. `address` is a validated tunnel address. */
export function pingStep(i: number, address: string): Step {
  return { name: `ping-${i}`, argv: ['ping', '-n', '-c', '1', '-W', '1', address], allowFail: true };
}

/** What one ping showed. */
export interface PingResult {
  ok: boolean;
  /** The statistics line (or the error), for evidence. */
  line: string;
}

/** Parses ping's output (stdout and stderr together). */
export function parsePing(output: string): PingResult {
  const stats = /(\d+) packets transmitted, (\d+) (?:packets )?received.*/.exec(output);
  const line = stats?.[0] ?? (output.trim().split('\n').find(Boolean) || 'ping printed nothing');
  return { ok: stats !== null && Number(stats[2]) > 0, line };
}

/**
 * Finds the endpoint of peer $2 (or of the first peer with one, for `any`) on interface $1 and
 * sends one don't-fragment echo request of the interface MTU + 32 bytes of payload: the size of
 * a full WireGuard packet on the wire (MTU + 60 over IPv4, + 80 over IPv6, minus ICMP headers).
 */
export const PMTU_SH = `set -u
ep=$(wg show "$1" endpoints 2>/dev/null | awk -v k="$2" '($1 == k || k == "any") && $2 != "(none)" { print $2; exit }')
if [ -z "$ep" ]; then echo "probe none"; exit 0; fi
host=\${ep%:*}; host=\${host#[}; host=\${host%]}
mtu=$(cat "/sys/class/net/$1/mtu")
echo "probe $host size $((mtu + 32)) wg-mtu $mtu"
ping -n -c 1 -W 1 -M do -s "$((mtu + 32))" "$host" 2>&1
exit 0`;

export const PMTU = hubProgram('tunnelgate-pmtu', PMTU_SH, { arity: 2, interfaceFirst: true });

/**
 * Step `pmtu`: the don't-fragment probe toward `publicKey`'s endpoint (any peer's when null: the
 * word `any`, a plain word the installed program's guard lets through, unlike `-` or `''`).
 */
export function pmtuStep(iface: string, publicKey: string | null): Step {
  return programStep('pmtu', PMTU, [iface, publicKey ?? 'any'], { allowFail: true });
}

/** What the don't-fragment probe showed; null when no peer had an endpoint to probe. */
export interface PmtuResult {
  host: string;
  size: number;
  wgMtu: number;
  ok: boolean;
  /** The path MTU the kernel reported (`message too long, mtu=N`), when it did. */
  pathMtu: number | null;
  lines: string[];
}

/** Parses PMTU_SH output. */
export function parsePmtu(output: string): PmtuResult | null {
  const head = /^probe (\S+) size (\d+) wg-mtu (\d+)$/m.exec(output);
  if (head?.[1] === undefined) return null;
  const ping = parsePing(output);
  const mtu = /mtu[= ](\d+)/.exec(output.slice(head.index + head[0].length));
  const error = output.split('\n').find((l) => /message too long|Frag needed|too long/i.test(l));
  return {
    host: head[1],
    size: Number(head[2]),
    wgMtu: Number(head[3]),
    ok: ping.ok,
    pathMtu: mtu?.[1] === undefined ? null : Number(mtu[1]),
    lines: [head[0], error?.trim() ?? ping.line],
  };
}

/** UDP flows to port $1 (digits only: it goes into a pattern) that conntrack saw recently. */
export const CONNTRACK_SH = `case $1 in '' | *[!0-9]*) echo "tunnelgate: not a port: $1" >&2; exit 64 ;; esac
grep -E "^ipv[46] +[0-9]+ +udp .* dport=$1 " /proc/net/nf_conntrack 2>/dev/null; exit 0`;

export const CONNTRACK = hubProgram('tunnelgate-ct', CONNTRACK_SH, { arity: 1 });

/** Step `conntrack`: recent UDP flows to the WireGuard port. */
export function conntrackStep(port: number): Step {
  return programStep('conntrack', CONNTRACK, [String(port)], { allowFail: true });
}

/** One UDP flow toward the WireGuard port. */
export interface Flow {
  source: string;
  sourcePort: number;
  /** True when the hub never answered it ([UNREPLIED]). */
  unreplied: boolean;
  line: string;
}

/** Parses /proc/net/nf_conntrack lines (the original direction's src and sport). */
export function parseFlows(stdout: string): Flow[] {
  const flows: Flow[] = [];
  for (const raw of stdout.split('\n')) {
    const line = raw.trim().replace(/\s+/g, ' ');
    const src = /src=(\S+) dst=\S+ sport=(\d+) dport=\d+/.exec(line);
    if (src?.[1] === undefined) continue;
    flows.push({ source: src[1], sourcePort: Number(src[2]), unreplied: line.includes('[UNREPLIED]'), line });
  }
  return flows;
}

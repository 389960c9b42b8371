/**
 * The guide's "Fast diagnosis playbook" as a pure function of what was read: reachability,
 * handshake, in-tunnel traffic, routing/NAT/DNS, performance, in that order. Each step gets a
 * verdict, the lines it judged by and, when something is wrong, findings with the root cause and
 * fix from the common-mistakes table. Once a step fails, the steps above it are skipped: if
 * packets don't arrive, nothing else matters.
 */

import { splitRoutes } from '../domain/hubs.js';
import type { DiagnosisStep, DiagnosisView, Finding, StepName, Verdict } from '../domain/models/diagnosis.js';
import type { TunnelMode } from '../domain/models/request.js';
import type { HubFacts } from '../hub/facts/facts.js';
import { chainEvidence, evaluateHook, type Packet } from '../hub/facts/firewall.js';
import { STALE_HANDSHAKE_SEC } from '../hub/facts/wireguard.js';
import { contains, overlaps } from '../wg/cidr.js';
import type { DumpPeer } from '../wg/dump.js';
import { type Disclosure, disclosure } from './disclosure.js';
import { finding, MISTAKES } from './finding.js';

/** A peer as the inventory knows it (what the playbook needs of a PeerRecord). */
export interface KnownPeer {
  peer: string;
  publicKey: string;
  /** With prefix, e.g. `10.66.1.2/32`. */
  address: string;
  mode: TunnelMode;
  /** PersistentKeepalive of the client config the bot delivered (0: none); unset: unknown. */
  clientKeepalive?: number;
}

/**
 * What to diagnose: the whole hub, or one peer on it, for its owner (their peer's facts and the
 * verdicts) or for on-call and leads (`full`: every line read).
 */
export type PlaybookTarget = { type: 'hub' } | { type: 'peer'; peer: KnownPeer; view: DiagnosisView };

function disclosureFor(target: PlaybookTarget): Disclosure {
  return disclosure(target.type === 'hub' ? 'full' : target.view);
}

/** A documentation address (TEST-NET-1) standing for "anyone on the internet". */
export const INTERNET_SAMPLE = '192.0.2.77';

const NAMES: readonly StepName[] = ['reachability', 'handshake', 'tunnel', 'routing', 'performance'];

interface Partial {
  verdict: Exclude<Verdict, 'skipped'>;
  summary: string;
  evidence: string[];
  findings: Finding[];
}

/**
 * Evaluates the five steps. `known` are the inventory's peers on this hub (their modes tell which
 * need forwarding and NAT).
 */
export function runPlaybook(
  facts: HubFacts,
  target: PlaybookTarget,
  known: readonly KnownPeer[],
): DiagnosisStep[] {
  const checks = [reachability, handshake, tunnel, routing, performance];
  const steps: DiagnosisStep[] = [];
  let failedAt: number | null = null;
  checks.forEach((check, i) => {
    const name = NAMES[i] ?? 'performance';
    if (failedAt !== null) {
      steps.push({
        step: i + 1,
        name,
        verdict: 'skipped',
        summary: `skipped: step ${failedAt} (${NAMES[failedAt - 1]}) failed`,
        evidence: [],
        findings: [],
      });
      return;
    }
    const result = check(facts, target, known);
    steps.push({ step: i + 1, name, ...result });
    if (result.verdict === 'fail') failedAt = i + 1;
  });
  return steps;
}

function verdictOf(findings: readonly Finding[]): Exclude<Verdict, 'skipped'> {
  if (findings.some((f) => f.severity === 'high')) return 'fail';
  return findings.length > 0 ? 'warn' : 'pass';
}

function hostOf(address: string): string {
  return address.split('/')[0] ?? address;
}

function livePeer(facts: HubFacts, publicKey: string): DumpPeer | undefined {
  return facts.dump?.peers.find((p) => p.publicKey === publicKey);
}

function peerLine(facts: HubFacts, peer: DumpPeer): string {
  const age =
    peer.latestHandshake === null ? 'never' : `${Math.max(0, facts.nowSec - peer.latestHandshake)}s ago`;
  return `peer ${peer.publicKey} endpoint ${peer.endpoint ?? '(none)'} allowed ips ${peer.allowedIps.join(', ') || '(none)'} latest handshake ${age} transfer rx ${peer.transferRx} tx ${peer.transferTx}`;
}

function reachability(facts: HubFacts, target: PlaybookTarget): Partial {
  const { hub } = facts;
  const d = disclosureFor(target);
  const findings: Finding[] = [];
  const evidence: string[] = [];
  const wg = facts.listeners.filter((l) => l.proto === 'udp' && l.port === facts.port);
  const link = facts.links.find((l) => l.name === hub.interface);
  if (wg.length === 0 || facts.dump === null) {
    const state =
      link === undefined
        ? `${hub.interface} does not exist`
        : `${hub.interface} is ${link.up ? 'up' : 'down'}`;
    findings.push(
      finding(hub.name, {
        check: 'wireguard-down',
        severity: 'high',
        title: `WireGuard is not running on ${hub.name}`,
        evidence: [
          ...(wg.length === 0
            ? [`ss -lunp: nothing listens on UDP ${facts.port}`]
            : d.listeners(facts.port, wg)),
          state,
          ...(facts.dumpError === null ? [] : [`wg show ${hub.interface} dump: ${facts.dumpError}`]),
        ],
        cause: `the WireGuard interface ${hub.interface} is down or its process is not running, so nothing answers on UDP ${facts.port}`,
        fix: `bring it up: wg-quick up ${hub.interface} (or systemctl start wg-quick@${hub.interface}) and check its log`,
      }),
    );
  } else {
    evidence.push(...d.listeners(facts.port, wg));
  }
  if (facts.ruleset === null) {
    evidence.push('nft list ruleset: not readable (no nftables, or no permission)');
  } else {
    const packet: Packet = {
      family: 4,
      proto: 'udp',
      iif: hub.egressInterface,
      saddr: INTERNET_SAMPLE,
      dport: facts.port,
      ct: 'new',
    };
    const result = evaluateHook(facts.ruleset, 'input', packet);
    if (result.verdict === 'drop' || result.verdict === 'reject') {
      findings.push(
        finding(hub.name, {
          check: 'udp-blocked',
          severity: 'high',
          title: `the input chain ${result.verdict}s UDP ${facts.port}`,
          evidence: d.rule('input', result),
          ...MISTAKES.noHandshakeBlocked,
          fix: `add \`udp dport ${facts.port} accept\` to the input chain before that rule: nft insert rule ${result.chain?.family} ${result.chain?.table} ${result.chain?.name} udp dport ${facts.port} accept`,
        }),
      );
    } else {
      evidence.push(...d.rule('input', result).map((l) => `accepts UDP ${facts.port}: ${l}`));
    }
  }
  if (target.type === 'peer') {
    const live = livePeer(facts, target.peer.publicKey);
    if (live?.endpoint != null && live.transferRx > 0)
      evidence.push(`packets from ${live.endpoint} arrived: ${live.transferRx} bytes received`);
    else evidence.push(...d.flows(facts.port, facts.flows, 'conntrack: '));
  } else {
    evidence.push(`${facts.flows.length} recent UDP flows to port ${facts.port} (conntrack)`);
  }
  const verdict = verdictOf(findings);
  return {
    verdict,
    summary:
      verdict === 'pass'
        ? `UDP ${facts.port} is listening and the firewall accepts it`
        : (findings[0]?.title ?? ''),
    evidence,
    findings,
  };
}

function noHandshakeCause(
  facts: HubFacts,
  d: Disclosure,
): { cause: string; fix: string; evidence: string[] } {
  const unanswered = facts.flows.filter((f) => f.unreplied);
  if (unanswered.length > 0) {
    return {
      ...MISTAKES.noHandshakeKeys,
      evidence: d.flows(facts.port, unanswered, 'packets arrive, unanswered: '),
    };
  }
  return {
    cause:
      'no packets from the client arrive: it is off, its Endpoint IP/port is wrong, or UDP is blocked upstream (common mistake 1)',
    fix: `check the client's Endpoint is ${facts.hub.endpoint} and that the path allows UDP ${facts.port}`,
    evidence: [`conntrack: no UDP flow to port ${facts.port}`],
  };
}

/**
 * A peer that did handshake, and then went stale: the endpoint and keys were right, so not
 * mistake 1. When the client's keepalive is unset or unknown, the guide's mistake 6 (a NAT forgot
 * the mapping); otherwise the client went away (off, asleep, offline).
 */
function staleCause(
  facts: HubFacts,
  peer: KnownPeer,
  live: DumpPeer,
  age: number,
): { cause: string; fix: string; evidence: string[] } {
  const at = new Date((facts.nowSec - age) * 1000).toISOString();
  const evidence = [
    `last handshake ${age}s ago (${at}) from ${live.endpoint ?? 'an endpoint the hub no longer knows'}, ${live.transferRx} bytes received and ${live.transferTx} sent: the endpoint and keys worked`,
  ];
  const ping = facts.pings.get(peer.publicKey);
  if (ping !== undefined) {
    evidence.push(
      ping.ok
        ? `ping from the hub to ${hostOf(peer.address)} answered: ${ping.line}`
        : `ping from the hub to ${hostOf(peer.address)} got no answer, the way back to the client is closed: ${ping.line}`,
    );
  }
  const keepalive =
    peer.clientKeepalive === undefined
      ? 'the keepalive of the client config is unknown (this peer predates the record, or was rebuilt from the hub)'
      : peer.clientKeepalive === 0
        ? 'the client config the bot delivered sets no keepalive'
        : null;
  if (keepalive !== null) {
    return { ...MISTAKES.staleNoKeepalive, evidence: [...evidence, keepalive] };
  }
  return {
    cause: `the client handshook and then stopped: it is off, asleep or offline (its config as delivered sends a keepalive every ${peer.clientKeepalive}s, so a NAT timeout, common mistake 6, applies only if that line was removed on the device)`,
    fix: `bring the client online and send traffic; if it fails only on mobile networks, check that its config still has PersistentKeepalive = ${peer.clientKeepalive}`,
    evidence: [
      ...evidence,
      `the client config the bot delivered sets PersistentKeepalive = ${peer.clientKeepalive}`,
    ],
  };
}

function handshake(facts: HubFacts, target: PlaybookTarget): Partial {
  const { hub } = facts;
  const d = disclosureFor(target);
  const dump = facts.dump;
  if (dump === null)
    return { verdict: 'fail', summary: 'the interface could not be read', evidence: [], findings: [] };
  if (target.type === 'peer') {
    const { peer } = target;
    const live = livePeer(facts, peer.publicKey);
    if (live === undefined) {
      const f = finding(hub.name, {
        check: 'peer-missing',
        subject: peer.publicKey,
        severity: 'high',
        title: `${peer.peer} is not on the live interface`,
        evidence: [`wg show ${hub.interface} dump: no peer ${peer.publicKey}`],
        cause: 'the peer was removed live, or the interface was restarted from a config file without it',
        fix: 'run /vpn reconcile to see the drift, then re-provision the peer',
      });
      return { verdict: 'fail', summary: f.title, evidence: [], findings: [f] };
    }
    const line = peerLine(facts, live);
    const age = live.latestHandshake === null ? null : facts.nowSec - live.latestHandshake;
    if (age !== null && age <= STALE_HANDSHAKE_SEC) {
      return {
        verdict: 'pass',
        summary: `latest handshake ${Math.max(0, age)}s ago`,
        evidence: [line],
        findings: [],
      };
    }
    const why = age === null ? noHandshakeCause(facts, d) : staleCause(facts, peer, live, age);
    const f = finding(hub.name, {
      check: age === null ? 'no-handshake' : 'handshake-stale',
      subject: peer.publicKey,
      severity: 'high',
      title:
        age === null
          ? `${peer.peer} never completed a handshake`
          : `${peer.peer}'s latest handshake is ${age}s old (stale after ${STALE_HANDSHAKE_SEC}s)`,
      evidence: [line, ...why.evidence],
      cause: why.cause,
      fix: why.fix,
    });
    return { verdict: 'fail', summary: f.title, evidence: [line], findings: [f] };
  }
  const peers = dump.peers;
  const recent = peers.filter(
    (p) => p.latestHandshake !== null && facts.nowSec - p.latestHandshake <= STALE_HANDSHAKE_SEC,
  );
  const evidence = peers.slice(0, 10).map((p) => peerLine(facts, p));
  if (peers.length === 0)
    return { verdict: 'pass', summary: 'no peers are configured', evidence, findings: [] };
  const unanswered = facts.flows.filter((f) => f.unreplied);
  if (recent.length === 0 || unanswered.length > 0) {
    const why = noHandshakeCause(facts, d);
    const f = finding(hub.name, {
      check: recent.length === 0 ? 'no-handshake' : 'handshake-refused',
      subject: 'hub',
      severity: recent.length === 0 ? 'high' : 'medium',
      title:
        recent.length === 0
          ? `none of ${peers.length} peers has a handshake in the last ${STALE_HANDSHAKE_SEC}s`
          : `${unanswered.length} client(s) send packets that get no handshake`,
      evidence: why.evidence,
      cause: why.cause,
      fix: why.fix,
    });
    return { verdict: verdictOf([f]), summary: f.title, evidence, findings: [f] };
  }
  return {
    verdict: 'pass',
    summary: `${recent.length} of ${peers.length} peers handshaked in the last ${STALE_HANDSHAKE_SEC}s`,
    evidence,
    findings: [],
  };
}

function tunnel(facts: HubFacts, target: PlaybookTarget, known: readonly KnownPeer[]): Partial {
  const { hub } = facts;
  const d = disclosureFor(target);
  const dump = facts.dump;
  if (dump === null)
    return { verdict: 'fail', summary: 'the interface could not be read', evidence: [], findings: [] };
  const findings: Finding[] = [];
  const evidence: string[] = [];
  const candidates =
    target.type === 'peer'
      ? [target.peer]
      : known.filter((k) => {
          const live = livePeer(facts, k.publicKey);
          return live?.latestHandshake != null && facts.nowSec - live.latestHandshake <= STALE_HANDSHAKE_SEC;
        });
  for (const peer of candidates) {
    const live = livePeer(facts, peer.publicKey);
    if (live === undefined) continue;
    const address = hostOf(peer.address);
    const holders = dump.peers.filter((p) => p.allowedIps.some((c) => contains(c, address)));
    const others = holders.filter((p) => p.publicKey !== peer.publicKey);
    if (others.length > 0 || !live.allowedIps.some((c) => contains(c, address))) {
      findings.push(
        finding(hub.name, {
          check: 'allowed-ips-overlap',
          subject: peer.publicKey,
          severity: 'high',
          title: `${peer.peer}'s address ${peer.address} is routed to ${others.length > 0 ? 'another peer' : 'no peer'}`,
          evidence: [peerLine(facts, live), ...others.map((o) => d.otherPeer(o, peerLine(facts, o)))],
          ...MISTAKES.overlap,
        }),
      );
      continue;
    }
    const ping = facts.pings.get(peer.publicKey);
    if (ping === undefined) continue;
    if (ping.ok) {
      evidence.push(
        `ping ${address}: ${ping.line}`,
        `transfer: rx ${live.transferRx} B, tx ${live.transferTx} B`,
      );
      continue;
    }
    const blocked = facts.ruleset === null ? null : firewallOnWg(facts, address, d);
    findings.push(
      finding(hub.name, {
        check: blocked === null ? 'no-ping' : 'wg-input-blocked',
        subject: peer.publicKey,
        severity: 'high',
        title:
          blocked === null
            ? `${peer.peer} has a handshake but does not answer ping at ${address}`
            : `the firewall drops traffic from ${hub.interface}: ${peer.peer} handshakes but ping fails`,
        evidence: [`ping ${address}: ${ping.line}`, peerLine(facts, live), ...(blocked ?? [])],
        ...MISTAKES.noPing,
        ...(blocked === null
          ? {}
          : {
              fix: `allow input on ${hub.interface}: put \`iifname "${hub.interface}" accept\` before the rule that drops it`,
            }),
      }),
    );
  }
  const overlaps = overlappingLive(facts);
  if (target.type === 'hub' && overlaps.length > 0) findings.push(...overlaps);
  const verdict = verdictOf(findings);
  const summary =
    verdict === 'pass'
      ? candidates.length === 0
        ? 'no connected peer to probe'
        : `${candidates.length === 1 ? `${candidates[0]?.peer} answers` : `${candidates.length} peers answer`} ping through the tunnel`
      : (findings[0]?.title ?? '');
  return { verdict, summary, evidence, findings };
}

/** The rules that drop the peer's traffic arriving on the interface, or null when none does. */
function firewallOnWg(facts: HubFacts, address: string, d: Disclosure): string[] | null {
  if (facts.ruleset === null) return null;
  const base = {
    family: 4,
    proto: 'icmp',
    iif: facts.hub.interface,
    saddr: address,
    daddr: hostOf(facts.hub.subnet),
  } as const;
  for (const ct of ['established', 'new'] as const) {
    const result = evaluateHook(facts.ruleset, 'input', { ...base, ct });
    if (result.verdict === 'drop' || result.verdict === 'reject') return d.rule('input', result);
  }
  return null;
}

function overlappingLive(facts: HubFacts): Finding[] {
  const peers = facts.dump?.peers ?? [];
  const found: Finding[] = [];
  for (const [i, a] of peers.entries()) {
    for (const b of peers.slice(i + 1)) {
      const pair = a.allowedIps.flatMap((x) => b.allowedIps.filter((y) => overlaps(x, y)).map((y) => [x, y]));
      if (pair.length === 0) continue;
      found.push(
        finding(facts.hub.name, {
          check: 'allowed-ips-overlap',
          subject: [a.publicKey, b.publicKey].sort().join(' '),
          severity: 'high',
          title: `two peers claim overlapping AllowedIPs (${pair.map((p) => p.join(' / ')).join(', ')})`,
          evidence: [peerLine(facts, a), peerLine(facts, b)],
          ...MISTAKES.overlap,
        }),
      );
    }
  }
  return found;
}

/**
 * Findings for full-tunnel peers: forwarding on, the forward chain open, masquerade to egress.
 * `d` decides how much of the firewall the evidence shows.
 */
export function fullTunnelFindings(facts: HubFacts, sample: KnownPeer, d: Disclosure): Finding[] {
  const { hub } = facts;
  const findings: Finding[] = [];
  if (facts.sysctls.ipForward !== true) {
    findings.push(
      finding(hub.name, {
        check: 'ip-forward-off',
        severity: 'high',
        title: `IPv4 forwarding is off but ${sample.peer} is full-tunnel`,
        evidence: facts.sysctls.lines.filter((l) => l.startsWith('net.ipv4.ip_forward')),
        ...MISTAKES.fullTunnel,
        fix: 'enable forwarding: sysctl -w net.ipv4.ip_forward=1 and persist it in /etc/sysctl.d/99-wireguard-forward.conf',
        action: { type: 'enable-forwarding' },
      }),
    );
  }
  if (facts.ruleset !== null) {
    const saddr = hostOf(sample.address);
    const forward = evaluateHook(facts.ruleset, 'forward', {
      family: 4,
      proto: 'tcp',
      iif: hub.interface,
      oif: hub.egressInterface,
      saddr,
      daddr: INTERNET_SAMPLE,
      dport: 443,
      ct: 'new',
    });
    if (forward.verdict !== 'accept') {
      findings.push(
        finding(hub.name, {
          check: 'forward-blocked',
          severity: 'high',
          title: `the forward chain ${forward.verdict}s traffic from ${hub.interface} to ${hub.egressInterface}`,
          evidence: d.rule('forward', forward),
          ...MISTAKES.fullTunnel,
          fix: `allow it: nft add rule inet filter forward iifname "${hub.interface}" oifname "${hub.egressInterface}" accept`,
        }),
      );
    }
    const nat = evaluateHook(facts.ruleset, 'postrouting', {
      family: 4,
      proto: 'tcp',
      oif: hub.egressInterface,
      saddr,
      daddr: INTERNET_SAMPLE,
      dport: 443,
      ct: 'new',
    });
    if (nat.verdict !== 'masquerade') {
      findings.push(
        finding(hub.name, {
          check: 'masquerade-missing',
          severity: 'high',
          title: `no masquerade from ${hub.subnet} toward ${hub.egressInterface}`,
          evidence:
            nat.chain === null
              ? ['nft list ruleset: no nat postrouting chain']
              : d.hubLines(chainEvidence(nat.chain)),
          ...MISTAKES.fullTunnel,
          fix: `nft add rule ip nat postrouting oifname "${hub.egressInterface}" ip saddr ${hub.subnet} masquerade`,
          action: { type: 'add-masquerade', subnet: hub.subnet, egressInterface: hub.egressInterface },
        }),
      );
    }
  }
  return findings;
}

function routing(facts: HubFacts, target: PlaybookTarget, known: readonly KnownPeer[]): Partial {
  const { hub } = facts;
  const d = disclosureFor(target);
  const findings: Finding[] = [];
  const evidence: string[] = [];
  const route = facts.routes.find(
    (r) => r.dev === hub.interface && overlaps(r.dst.includes('/') ? r.dst : `${r.dst}/32`, hub.subnet),
  );
  if (route === undefined) {
    findings.push(
      finding(hub.name, {
        check: 'subnet-route-missing',
        severity: 'high',
        title: `no route for ${hub.subnet} on ${hub.interface}`,
        evidence: d.hubLines(facts.routes.map((r) => r.line)),
        cause: `the tunnel subnet is not routed to ${hub.interface}: the interface Address is wrong or was removed`,
        fix: `set Address = ${hub.address ?? hostOf(hub.subnet)}/${hub.subnet.split('/')[1]} in [Interface] and restart the interface`,
      }),
    );
  } else {
    evidence.push(`route: ${route.line}`);
  }
  const peers = target.type === 'peer' ? [target.peer] : known;
  const full = peers.find((p) => p.mode === 'full');
  if (full !== undefined) {
    findings.push(...fullTunnelFindings(facts, full, d));
    if (facts.sysctls.ipForward === true)
      evidence.push(...facts.sysctls.lines.filter((l) => l.startsWith('net.ipv4')));
  }
  for (const peer of peers.filter((p) => p.mode === 'split')) {
    const reachable = splitRoutes(hub);
    const outside = hub.dns.filter((d) => !reachable.some((c) => contains(c, d)));
    if (outside.length > 0) {
      findings.push(
        finding(hub.name, {
          check: 'dns-outside-tunnel',
          subject: peer.publicKey,
          severity: 'medium',
          title: `DNS ${outside.join(', ')} is not reachable through ${peer.peer}'s split tunnel`,
          evidence: [`DNS = ${hub.dns.join(', ')}`, `client AllowedIPs = ${reachable.join(', ')}`],
          cause: 'the client points DNS at a resolver not reachable in split tunnel (common mistake 8)',
          fix: "include the resolver's subnet in the hub's routes, or hand out a resolver inside the tunnel",
        }),
      );
      break;
    }
  }
  const verdict = verdictOf(findings);
  return {
    verdict,
    summary:
      verdict === 'pass'
        ? `${hub.subnet} is routed on ${hub.interface}${full ? '; forwarding and NAT are in place' : ''}`
        : (findings[0]?.title ?? ''),
    evidence,
    findings,
  };
}

function performance(facts: HubFacts): Partial {
  const { hub } = facts;
  const findings: Finding[] = [];
  const wg = facts.links.find((l) => l.name === hub.interface);
  const egress = facts.links.find((l) => l.name === hub.egressInterface);
  const evidence = [wg?.line, egress?.line].filter((l): l is string => l !== undefined);
  const probe = facts.pmtu;
  const mtuFix = (pathMtu: number) =>
    `set MTU = ${pathMtu - 80} in [Interface] of ${hub.configPath} and run ip link set ${hub.interface} mtu ${pathMtu - 80}`;
  if (probe !== null && !probe.ok) {
    const tooSmall = egress !== undefined && egress.mtu < probe.size + 28 ? egress.mtu : null;
    const pathMtu = probe.pathMtu ?? tooSmall;
    findings.push(
      finding(hub.name, {
        check: 'mtu-too-large',
        severity: 'high',
        title: `a full-size WireGuard packet (${probe.size + 28} B) does not fit the path to ${probe.host}`,
        evidence: [...probe.lines, ...evidence],
        ...MISTAKES.mtu,
        ...(pathMtu === null ? {} : { fix: mtuFix(pathMtu) }),
      }),
    );
  } else if (probe === null && wg !== undefined && egress !== undefined && wg.mtu + 80 > egress.mtu) {
    findings.push(
      finding(hub.name, {
        check: 'mtu-too-large',
        severity: 'high',
        title: `${hub.interface} MTU ${wg.mtu} needs ${wg.mtu + 80} B on ${hub.egressInterface}, which has MTU ${egress.mtu}`,
        evidence,
        ...MISTAKES.mtu,
        fix: mtuFix(egress.mtu),
      }),
    );
  } else if (probe !== null) {
    evidence.push(...probe.lines);
  }
  if (wg !== undefined && wg.rxErrors + wg.txErrors > 0) {
    findings.push(
      finding(hub.name, {
        check: 'interface-errors',
        severity: 'medium',
        title: `${hub.interface} counts ${wg.rxErrors} receive and ${wg.txErrors} transmit errors`,
        evidence: [wg.line],
        cause: 'packets are dropped on the interface: often MTU trouble or an overloaded hub',
        fix: 'check MTU first, then CPU load on the hub',
      }),
    );
  }
  const verdict = verdictOf(findings);
  return {
    verdict,
    summary:
      verdict === 'pass'
        ? `MTU ${wg?.mtu ?? '?'} fits the path${probe === null ? '' : ` (don't-fragment probe to ${probe.host} passed)`}; no interface errors`
        : (findings[0]?.title ?? ''),
    evidence,
    findings,
  };
}

/**
 * The guide's "unnecessary holes" as checks over what was read from a hub: each check either
 * passes or yields findings with severity, evidence and fix. Pure: the audit worker reads, this
 * judges.
 */

import { HUB_PROGRAM_DIR } from '../domain/hub-paths.js';
import type { AuditReport, Finding } from '../domain/models/diagnosis.js';
import type { HubFacts } from '../hub/facts/facts.js';
import { tooOpen } from '../hub/facts/file-modes.js';
import { baseChains, chainEvidence, evaluateHook } from '../hub/facts/firewall.js';
import { programDrift } from '../hub/facts/hub-programs.js';
import { isLoopback } from '../hub/facts/listeners.js';
import { parseCidr } from '../wg/cidr.js';
import { findOverlaps } from '../wg/ipam.js';
import { disclosure } from './disclosure.js';
import { finding, MISTAKES } from './finding.js';
import { fullTunnelFindings, INTERNET_SAMPLE, type KnownPeer } from './playbook.js';

type Check = (facts: HubFacts, known: readonly KnownPeer[]) => Finding[];

/** Every audit check by name, in report order. */
export const AUDIT_CHECKS: Readonly<Record<string, Check>> = {
  listeners: extraListeners,
  'input-policy': inputPolicy,
  'ssh-source': sshSource,
  'forward-policy': forwardPolicy,
  'file-modes': fileModes,
  'save-config': saveConfig,
  'allowed-ips-overlap': allowedIpsOverlap,
  'road-warrior-routes': roadWarriorRoutes,
  'ip-forward': ipForward,
  'ipv6-filter': ipv6Filter,
  mtu,
  'hub-programs': hubPrograms,
};

/** Runs every check; `known` are the inventory's peers on the hub. */
export function runAudit(facts: HubFacts, known: readonly KnownPeer[], at: string): AuditReport {
  const findings: Finding[] = [];
  const passed: string[] = [];
  for (const [name, check] of Object.entries(AUDIT_CHECKS)) {
    const found = check(facts, known);
    if (found.length === 0) passed.push(name);
    findings.push(...found);
  }
  return { hub: facts.hub.name, at, findings, passed };
}

function extraListeners(facts: HubFacts): Finding[] {
  return facts.listeners
    .filter((l) => !isLoopback(l.address))
    .filter((l) => !(l.proto === 'udp' && l.port === facts.port))
    .filter((l) => !(l.proto === 'tcp' && l.process === 'sshd'))
    .map((l) =>
      finding(facts.hub.name, {
        check: 'extra-listener',
        subject: `${l.proto}:${l.port}`,
        severity: 'medium',
        title: `${l.process ?? 'a process'} listens on ${l.proto.toUpperCase()} ${l.address}:${l.port}`,
        evidence: [l.line],
        cause:
          'a service other than WireGuard and SSH listens on a non-loopback address: one firewall mistake exposes it',
        fix: 'stop the service, or bind it to 127.0.0.1 or the tunnel address only',
      }),
    );
}

function noRuleset(facts: HubFacts, check: string): Finding[] {
  return [
    finding(facts.hub.name, {
      check,
      severity: 'high',
      title: 'the nftables ruleset could not be read',
      evidence: ['nft -j list ruleset: failed'],
      cause: 'nftables is missing or not readable: the hub may have no firewall at all',
      fix: 'install nftables and load a default-drop ruleset (the guide, "Task 7")',
    }),
  ];
}

function inputPolicy(facts: HubFacts): Finding[] {
  if (facts.ruleset === null) return noRuleset(facts, 'input-policy-accept');
  const chains = baseChains(facts.ruleset, 'input');
  if (chains.some((c) => c.policy === 'drop')) return [];
  return [
    finding(facts.hub.name, {
      check: 'input-policy-accept',
      severity: 'high',
      title:
        chains.length === 0
          ? 'there is no input chain: everything is accepted'
          : 'the input policy is accept',
      evidence: chains.map((c) => chainEvidence(c)[0] ?? ''),
      cause: 'inbound traffic not explicitly dropped is accepted: any listener is exposed',
      fix: 'set policy drop on the input chain, allowing WireGuard, restricted SSH and established traffic',
    }),
  ];
}

function sshSource(facts: HubFacts): Finding[] {
  if (facts.ruleset === null) return [];
  const ports = [
    ...new Set(facts.listeners.filter((l) => l.proto === 'tcp' && l.process === 'sshd').map((l) => l.port)),
  ];
  return (ports.length === 0 ? [22] : ports).flatMap((port) => {
    const result = evaluateHook(facts.ruleset ?? { chains: new Map() }, 'input', {
      family: 4,
      proto: 'tcp',
      iif: facts.hub.egressInterface,
      saddr: INTERNET_SAMPLE,
      dport: port,
      ct: 'new',
    });
    if (result.verdict !== 'accept') return [];
    return [
      finding(facts.hub.name, {
        check: 'ssh-open',
        subject: String(port),
        severity: 'high',
        title: `SSH (TCP ${port}) is accepted from any source`,
        evidence: [
          result.rule?.text ??
            (result.chain === null
              ? 'no input chain'
              : (chainEvidence(result.chain)[0] ?? result.chain.name)),
        ],
        cause: 'SSH opened to the world "just for now" (an unnecessary hole)',
        fix: `restrict it: accept tcp dport ${port} only from a management address or the tunnel subnet (ip saddr … tcp dport ${port} accept)`,
      }),
    ];
  });
}

function forwardPolicy(facts: HubFacts): Finding[] {
  if (facts.ruleset === null) return [];
  const result = evaluateHook(facts.ruleset, 'forward', {
    family: 4,
    proto: 'tcp',
    iif: facts.hub.interface,
    oif: 'lan0',
    saddr: facts.hub.subnet.split('/')[0] ?? '',
    daddr: '198.18.0.1',
    dport: 22,
    ct: 'new',
  });
  if (result.verdict !== 'accept' || result.rule !== null) return [];
  if (result.chain === null && facts.sysctls.ipForward !== true) return [];
  return [
    finding(facts.hub.name, {
      check: 'forward-open',
      severity: 'high',
      title:
        result.chain === null
          ? `no forward chain while forwarding is on: ${facts.hub.interface} traffic is forwarded anywhere`
          : `the forward policy is accept: ${facts.hub.interface} traffic is forwarded with no rule`,
      evidence: result.chain === null ? [...facts.sysctls.lines] : chainEvidence(result.chain),
      cause:
        'forwarding from the VPN interface with no policy ("it\'s encrypted") lets every client reach every network',
      fix: `set policy drop on the forward chain and allow only what ${facts.hub.interface} clients need`,
    }),
  ];
}

function fileModes(facts: HubFacts): Finding[] {
  const open = facts.files.filter(tooOpen);
  if (open.length === 0) return [];
  return [
    finding(facts.hub.name, {
      check: 'key-file-mode',
      subject: open.map((f) => f.path).join(' '),
      severity: 'high',
      title: `${open.length} file(s) under ${facts.hub.configPath.slice(0, facts.hub.configPath.lastIndexOf('/'))} are readable beyond their owner`,
      evidence: open.map((f) => f.line),
      cause: 'keys and configs readable by other users leak the private key',
      fix: `chmod 600 ${open.map((f) => f.path).join(' ')}`,
      action: { type: 'chmod-600', paths: open.map((f) => f.path) },
    }),
  ];
}

function hubPrograms(facts: HubFacts): Finding[] {
  if (facts.programs === null) return [];
  const { missing, changed } = programDrift(facts.programs.expected, facts.programs.installed);
  if (missing.length + changed.length === 0) return [];
  return [
    finding(facts.hub.name, {
      check: 'hub-programs',
      subject: [...missing, ...changed].join(' '),
      severity: missing.length > 0 ? 'high' : 'medium',
      title: `${missing.length} of Tunnelgate's hub programs missing, ${changed.length} not this version's`,
      evidence: [
        ...missing.map((name) => `missing: ${HUB_PROGRAM_DIR}/${name}`),
        ...changed.map((name) => `differs from this Tunnelgate's: ${HUB_PROGRAM_DIR}/${name}`),
      ],
      cause:
        'the hub was bootstrapped by an older Tunnelgate, or its program files were edited: jobs that need a missing program fail, and a changed one may lack a newer guard',
      fix: `apply the bootstrap again (tunnelgate hub bootstrap ${facts.hub.name} --ssh-from <CIDR> --apply --as <you>, then --approve by another lead): it installs the current programs and keeps wg0.conf and the hub key`,
    }),
  ];
}

function saveConfig(facts: HubFacts): Finding[] {
  if (facts.conf?.settings.saveConfig !== true) return [];
  return [
    finding(facts.hub.name, {
      check: 'save-config',
      severity: 'medium',
      title: 'SaveConfig = true',
      evidence: facts.conf.lines.filter((l) => /^\s*SaveConfig\s*=/i.test(l)),
      cause:
        "wg-quick rewrites the config from live state on down: runtime changes (and mistakes) become permanent, and Tunnelgate's peer comments are erased",
      fix: `set SaveConfig = false in ${facts.hub.configPath}`,
    }),
  ];
}

/** Every peer's AllowedIPs, live and in the file, by public key. */
function allClaims(facts: HubFacts): Map<string, Set<string>> {
  const claims = new Map<string, Set<string>>();
  const add = (key: string, cidrs: readonly string[]) => {
    const set = claims.get(key) ?? new Set<string>();
    for (const c of cidrs) set.add(c);
    claims.set(key, set);
  };
  for (const p of facts.dump?.peers ?? []) add(p.publicKey, p.allowedIps);
  for (const p of facts.conf?.peers ?? []) add(p.publicKey, p.allowedIps);
  return claims;
}

function allowedIpsOverlap(facts: HubFacts): Finding[] {
  const claims = allClaims(facts);
  const overlaps = findOverlaps([...claims].map(([id, set]) => ({ id, allowedIps: [...set] })));
  return overlaps.map((o) =>
    finding(facts.hub.name, {
      check: 'allowed-ips-overlap',
      subject: [o.a, o.b].sort().join(' '),
      severity: 'high',
      title: `${o.cidrA} of ${o.a.slice(0, 8)}… overlaps ${o.cidrB} of ${o.b.slice(0, 8)}…`,
      evidence: [o.a, o.b].map((k) => {
        const live = facts.dump?.peers.find((p) => p.publicKey === k);
        const file = facts.conf?.peers.find((p) => p.publicKey === k);
        return `peer ${k}: live allowed ips ${live?.allowedIps.join(', ') || '(none)'}; file allowed ips ${file?.allowedIps.join(', ') || '(none)'}`;
      }),
      ...MISTAKES.overlap,
    }),
  );
}

function roadWarriorRoutes(facts: HubFacts, known: readonly KnownPeer[]): Finding[] {
  const roadWarriors = new Set([
    ...known.map((k) => k.publicKey),
    ...(facts.conf?.peers.filter((p) => p.meta != null).map((p) => p.publicKey) ?? []),
  ]);
  const claims = allClaims(facts);
  const found: Finding[] = [];
  for (const key of roadWarriors) {
    const wide = [...(claims.get(key) ?? [])].filter((c) => {
      const parsed = parseCidr(c);
      return parsed.prefix < (parsed.family === 4 ? 32 : 128);
    });
    if (wide.length === 0) continue;
    const name = known.find((k) => k.publicKey === key)?.peer ?? key;
    found.push(
      finding(facts.hub.name, {
        check: 'wide-allowed-ips',
        subject: key,
        severity: 'medium',
        title: `road-warrior peer ${name} claims ${wide.join(', ')} (wider than one address)`,
        evidence: [`peer ${key}: allowed ips ${[...(claims.get(key) ?? [])].join(', ')}`],
        cause: 'a client with a wide AllowedIPs can hijack traffic for other peers (mini-story 2)',
        fix: 'give each road-warrior peer its /32 (and /128) only',
      }),
    );
  }
  return found;
}

function fullTunnelPeers(facts: HubFacts, known: readonly KnownPeer[]): KnownPeer[] {
  const fromFile: KnownPeer[] = (facts.conf?.peers ?? []).flatMap((p) =>
    p.meta?.mode === 'full'
      ? [
          {
            peer: p.meta.peer,
            publicKey: p.publicKey,
            address: p.allowedIps[0] ?? facts.hub.subnet,
            mode: 'full' as const,
          },
        ]
      : [],
  );
  const all = [...known.filter((k) => k.mode === 'full'), ...fromFile];
  return all.filter((p, i) => all.findIndex((q) => q.publicKey === p.publicKey) === i);
}

function ipForward(facts: HubFacts, known: readonly KnownPeer[]): Finding[] {
  const full = fullTunnelPeers(facts, known);
  const [sample] = full;
  if (sample !== undefined) return fullTunnelFindings(facts, sample, disclosure('full'));
  if (facts.sysctls.ipForward !== true) return [];
  return [
    finding(facts.hub.name, {
      check: 'ip-forward-unneeded',
      severity: 'medium',
      title: 'IPv4 forwarding is on but no peer is full-tunnel',
      evidence: facts.sysctls.lines.filter((l) => l.startsWith('net.ipv4.ip_forward')),
      cause: 'a hub that routes for nobody still forwards: one permissive forward rule away from a hole',
      fix: 'turn it off: sysctl -w net.ipv4.ip_forward=0 (and remove it from /etc/sysctl.d)',
    }),
  ];
}

function ipv6Filter(facts: HubFacts): Finding[] {
  if (facts.sysctls.ipv6Enabled !== true) return [];
  const filtered =
    facts.ruleset !== null && baseChains(facts.ruleset, 'input', 6).some((c) => c.policy === 'drop');
  if (filtered) return [];
  return [
    finding(facts.hub.name, {
      check: 'ipv6-unfiltered',
      severity: 'medium',
      title: 'IPv6 is enabled but no IPv6 input chain drops by default',
      evidence: facts.sysctls.lines.filter((l) => l.includes('ipv6')),
      cause: 'ignoring IPv6 is a common way to create holes nobody monitors',
      fix: 'filter IPv6 too (an inet table covers both), or disable IPv6 on the hub',
    }),
  ];
}

function mtu(facts: HubFacts): Finding[] {
  const wg = facts.links.find((l) => l.name === facts.hub.interface);
  const egress = facts.links.find((l) => l.name === facts.hub.egressInterface);
  if (wg === undefined || egress === undefined || wg.mtu + 80 <= egress.mtu) return [];
  const set = facts.conf?.settings.mtu ?? null;
  return [
    finding(facts.hub.name, {
      check: 'mtu-too-large',
      severity: 'medium',
      title: `${facts.hub.interface} MTU ${wg.mtu}${set === null ? ' (not set in the config)' : ''} needs ${wg.mtu + 80} B but ${egress.name} carries ${egress.mtu}`,
      evidence: [wg.line, egress.line],
      ...MISTAKES.mtu,
      fix: `set MTU = ${egress.mtu - 80} in [Interface] of ${facts.hub.configPath}`,
    }),
  ];
}

/**
 * How much of the hub a diagnosis shows. On-call and leads see everything read (listener lines
 * with PIDs, firewall rule text, every client's conntrack flow and peer line); an owner
 * diagnosing their own peer sees their peer's facts and the verdicts, and hub-wide detail is
 * summarised without other clients' public addresses, rule text or process ids.
 */
import type { DiagnosisView } from '../domain/models/diagnosis.js';
import { chainEvidence, type HookVerdict } from '../hub/facts/firewall.js';
import type { Listener } from '../hub/facts/listeners.js';
import type { Flow } from '../hub/facts/probes.js';
import type { DumpPeer } from '../wg/dump.js';

/** Renders the hub-wide parts of the evidence for one audience. */
export interface Disclosure {
  /** The sockets listening on the WireGuard port. */
  listeners(port: number, wg: readonly Listener[]): string[];
  /** What a hook did with a sample packet, and the rule (or policy) that decided. */
  rule(hook: string, result: HookVerdict): string[];
  /** Conntrack flows to the WireGuard port (other clients' public addresses and ports). */
  flows(port: number, flows: readonly Flow[], prefix: string): string[];
  /** Another peer's live line (its public key and endpoint). */
  otherPeer(peer: DumpPeer, line: string): string;
  /** Lines about the whole hub (routes, a chain's rules). */
  hubLines(lines: readonly string[]): string[];
}

const FULL: Disclosure = {
  listeners: (_port, wg) => wg.map((l) => l.line),
  rule: (_hook, result) => {
    if (result.rule !== null) {
      const counted = result.packets === null ? '' : ` (${result.packets} packets counted)`;
      return [
        `${result.chain?.family} ${result.chain?.table} ${result.chain?.name}: ${result.rule.text}${counted}`,
      ];
    }
    return result.chain === null ? ['no base chain on this hook'] : [chainEvidence(result.chain)[0] ?? ''];
  },
  flows: (_port, flows, prefix) => flows.slice(0, 5).map((f) => `${prefix}${f.line}`),
  otherPeer: (_peer, line) => line,
  hubLines: (lines) => [...lines],
};

const OWNER: Disclosure = {
  listeners: (port, wg) => (wg.length === 0 ? [] : [`WireGuard listens on UDP ${port}`]),
  rule: (hook, result) => [
    `the ${hook} firewall ${result.verdict === 'masquerade' ? 'masquerades' : `${result.verdict}s`} it (rules are shown to on-call and leads)`,
  ],
  flows: (port, flows, prefix) =>
    flows.length === 0
      ? []
      : [
          `${prefix}${flows.length} UDP flow(s) to port ${port} (other clients' flows are shown to on-call and leads)`,
        ],
  otherPeer: () => 'another peer holds it (shown to on-call and leads)',
  hubLines: () => [],
};

/** The disclosure for a view; a hub-wide diagnosis is always `full` (on-call and leads only). */
export function disclosure(view: DiagnosisView): Disclosure {
  switch (view) {
    case 'full':
      return FULL;
    case 'owner':
      return OWNER;
    default: {
      const unreachable: never = view;
      return unreachable;
    }
  }
}

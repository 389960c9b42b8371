/**
 * The shapes of `/vpn diagnose` and `/vpn audit` results: playbook steps with verdicts, and
 * findings with evidence, root cause and fix. A finding whose fix is mechanical carries an
 * `action` (what `/vpn fix` would change); its `id` is derived from what it is about, so the same
 * problem gets the same id on every run.
 */
import { z } from 'zod';
import { HubName, InterfaceName, PeerName } from '../../core/ids.js';
import { Cidr } from '../../wg/cidr.js';

/** `f-` and 8 characters, derived from hub, check and subject (see runbooks/finding.ts). */
export const FindingId = z.string().regex(/^f-[a-z0-9]{8}$/, 'finding ids look like f-3k9m2q7a');
export type FindingId = z.infer<typeof FindingId>;

export const Verdict = z.enum(['pass', 'warn', 'fail', 'skipped']);
export type Verdict = z.infer<typeof Verdict>;

export const Severity = z.enum(['high', 'medium', 'low']);
export type Severity = z.infer<typeof Severity>;

/** A path under /etc/wireguard (or the configured config directory): no shell syntax possible. */
const SafePath = z.string().regex(/^\/[A-Za-z0-9._/-]+$/, 'expected a plain absolute path');

/** What a fix changes on the hub, mechanically; applied by workers/fix.ts. */
export const FixAction = z.discriminatedUnion('type', [
  /** `sysctl -w net.ipv4.ip_forward=1` and a sysctl.d drop-in so it survives a reboot. */
  z.object({ type: z.literal('enable-forwarding') }),
  /** `ip nat postrouting`: `oifname <egress> ip saddr <subnet> masquerade`. */
  z.object({ type: z.literal('add-masquerade'), subnet: Cidr, egressInterface: InterfaceName }),
  /** `chmod 600` on these files. */
  z.object({ type: z.literal('chmod-600'), paths: z.array(SafePath).min(1) }),
]);
export type FixAction = z.infer<typeof FixAction>;

/** One problem found, with the exact lines read as evidence. */
export const Finding = z.object({
  id: FindingId,
  /** Stable check name, e.g. `udp-blocked`, `ip-forward-off`, `key-file-mode`. */
  check: z.string(),
  severity: Severity,
  title: z.string(),
  evidence: z.array(z.string()),
  /** Root cause, in the words of the guide's common-mistakes table. */
  cause: z.string(),
  fix: z.string(),
  /** Present when `/vpn fix <id>` can apply the fix. */
  action: FixAction.optional(),
});
export type Finding = z.infer<typeof Finding>;

export const StepName = z.enum(['reachability', 'handshake', 'tunnel', 'routing', 'performance']);
export type StepName = z.infer<typeof StepName>;

/** One playbook step as evaluated. */
export const DiagnosisStep = z.object({
  step: z.number().int().min(1).max(5),
  name: StepName,
  verdict: Verdict,
  summary: z.string(),
  evidence: z.array(z.string()),
  findings: z.array(Finding),
});
export type DiagnosisStep = z.infer<typeof DiagnosisStep>;

/**
 * Who a peer diagnosis is for: its owner (their peer's facts and the verdicts) or on-call and
 * leads (`full`: every line read, other clients' flows, firewall rules and listener processes).
 */
export const DiagnosisView = z.enum(['owner', 'full']);
export type DiagnosisView = z.infer<typeof DiagnosisView>;

export const DiagnoseTarget = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hub') }),
  z.object({ type: z.literal('peer'), peer: PeerName }),
]);
export type DiagnoseTarget = z.infer<typeof DiagnoseTarget>;

/** A whole diagnosis: five steps in playbook order. */
export const DiagnoseReport = z.object({
  hub: HubName,
  target: DiagnoseTarget,
  /** When the hub was read (ISO). */
  at: z.string(),
  steps: z.array(DiagnosisStep),
});
export type DiagnoseReport = z.infer<typeof DiagnoseReport>;

/** A hardening audit: the findings, and the checks that found nothing. */
export const AuditReport = z.object({
  hub: HubName,
  at: z.string(),
  findings: z.array(Finding),
  passed: z.array(z.string()),
});
export type AuditReport = z.infer<typeof AuditReport>;

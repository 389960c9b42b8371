/**
 * Plain-text rendering of diagnose and audit reports and fix messages: one line per step (or
 * finding) with an icon, readable at a glance, and the details below.
 */
import { FORWARD_DROP_IN } from './hub-paths.js';
import type { AuditReport, DiagnoseReport, Finding, FixAction, Verdict } from './models/diagnosis.js';

const ICONS: Readonly<Record<Verdict, string>> = { pass: '✅', warn: '⚠️', fail: '❌', skipped: '⏭️' };
const SEVERITY_ICONS: Readonly<Record<Finding['severity'], string>> = { high: '❌', medium: '⚠️', low: 'ℹ️' };

/** The diagnosis: a summary line per step, then each step's evidence and findings. */
export function renderDiagnosis(report: DiagnoseReport): string {
  const what = report.target.type === 'peer' ? `${report.target.peer} on ${report.hub}` : `hub ${report.hub}`;
  const width = Math.max(...report.steps.map((s) => s.name.length));
  const out = [`Diagnosis of ${what} (${report.at}):`];
  for (const s of report.steps)
    out.push(`${ICONS[s.verdict]} ${s.step}. ${s.name.padEnd(width)}  ${s.summary}`);
  for (const s of report.steps) {
    if (s.verdict === 'skipped') continue;
    out.push('', `${s.step}. ${s.name}: ${s.verdict.toUpperCase()}`);
    for (const line of s.evidence) out.push(`   | ${line}`);
    for (const f of s.findings) out.push(...renderFinding(f, '   '));
  }
  return out.join('\n');
}

/** The audit: one line per finding (or "nothing flagged"), then details. */
export function renderAudit(report: AuditReport): string {
  const out = [
    report.findings.length === 0
      ? `Audit of ${report.hub} (${report.at}): nothing flagged; ${report.passed.length} checks passed.`
      : `Audit of ${report.hub} (${report.at}): ${report.findings.length} finding(s).`,
  ];
  for (const f of report.findings)
    out.push(`${SEVERITY_ICONS[f.severity]} [${f.id}] ${f.severity} ${f.check}: ${f.title}`);
  for (const f of report.findings) out.push('', ...renderFinding(f, ''));
  if (report.findings.length > 0) out.push('', `Passed: ${report.passed.join(', ') || 'none'}`);
  return out.join('\n');
}

/** One finding with evidence, cause, fix and, when fixable, the command to apply it. */
export function renderFinding(f: Finding, indent: string): string[] {
  return [
    `${indent}${SEVERITY_ICONS[f.severity]} [${f.id}] ${f.title}`,
    ...f.evidence.map((e) => `${indent}   | ${e}`),
    `${indent}   Cause: ${f.cause}`,
    `${indent}   Fix: ${f.fix}`,
    ...(f.action === undefined ? [] : [`${indent}   Apply (needs a lead's approval): /vpn fix ${f.id}`]),
  ];
}

/** Exactly what a fix action will change, one line per command. */
export function describeAction(action: FixAction, iface = 'wg0'): string[] {
  switch (action.type) {
    case 'enable-forwarding':
      return [
        'sysctl -w net.ipv4.ip_forward=1',
        `net.ipv4.ip_forward=1 into ${FORWARD_DROP_IN} (kept after a reboot)`,
      ];
    case 'add-masquerade':
      return [
        'nft add table ip nat (if missing)',
        'nft add chain ip nat postrouting { type nat hook postrouting priority srcnat; } (if missing)',
        `nft add rule ip nat postrouting oifname "${action.egressInterface}" ip saddr ${action.subnet} masquerade`,
        `(live only: add the rule to your saved nftables ruleset to keep it after a reboot; ${iface} clients' traffic leaving ${action.egressInterface} is masqueraded)`,
      ];
    case 'chmod-600':
      return action.paths.map((p) => `chmod 600 ${p}`);
    default: {
      const unreachable: never = action;
      return unreachable;
    }
  }
}

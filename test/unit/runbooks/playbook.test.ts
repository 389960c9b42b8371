import { describe, expect, it } from 'vitest';
import type { DiagnosisStep } from '../../../src/domain/models/diagnosis.js';
import { runAudit } from '../../../src/runbooks/hardening.js';
import { runPlaybook } from '../../../src/runbooks/playbook.js';
import { facts, probedPeer } from './fixtures.js';

const verdicts = (steps: DiagnosisStep[]) => steps.map((s) => s.verdict);
const checks = (step: DiagnosisStep | undefined) => step?.findings.map((f) => f.check);

function diagnose(state: string, mode: 'split' | 'full' = 'split') {
  const peer = probedPeer(state, mode);
  return runPlaybook(facts(state, peer), { type: 'peer', peer, view: 'full' }, [peer]);
}

describe('the diagnosis playbook on captured hub states', () => {
  it('passes every step on the healthy hub, with evidence and no findings', () => {
    const steps = diagnose('healthy');
    expect(verdicts(steps)).toEqual(['pass', 'pass', 'pass', 'pass', 'pass']);
    expect(steps.flatMap((s) => s.findings)).toEqual([]);
    expect(steps[0]?.evidence.join('\n')).toContain('wireguard-go');
  });

  it('fails reachability on the counted reject and skips the rest', () => {
    const steps = diagnose('udp-blocked');
    expect(verdicts(steps)).toEqual(['fail', 'skipped', 'skipped', 'skipped', 'skipped']);
    const [f] = steps[0]?.findings ?? [];
    expect(f?.check).toBe('udp-blocked');
    expect(f?.evidence[0]).toMatch(/reject \([1-9]\d* packets counted\)$/);
  });

  it('fails reachability when WireGuard is down', () => {
    const steps = diagnose('wg-down');
    expect(steps[0]?.verdict).toBe('fail');
    expect(checks(steps[0])).toEqual(['wireguard-down']);
    expect(steps[0]?.findings[0]?.evidence).toContain('ss -lunp: nothing listens on UDP 51820');
  });

  it('blames the keys when packets arrive but no handshake forms', () => {
    const steps = diagnose('wrong-hub-key');
    expect(verdicts(steps).slice(0, 2)).toEqual(['pass', 'fail']);
    expect(checks(steps[1])).toEqual(['no-handshake']);
    expect(steps[1]?.findings[0]?.cause).toContain('wrong keys');
  });

  it('finds the firewall dropping wg0 when the handshake is fine but ping fails', () => {
    const steps = diagnose('wg0-drop');
    expect(verdicts(steps).slice(0, 3)).toEqual(['pass', 'pass', 'fail']);
    expect(checks(steps[2])).toEqual(['wg-input-blocked']);
    expect(steps[2]?.findings[0]?.evidence.join('\n')).toContain('iifname "wg0" counter');
  });

  it('requires forwarding and masquerade for a full-tunnel peer', () => {
    expect(verdicts(diagnose('full-tunnel', 'full'))).toEqual(['pass', 'pass', 'pass', 'pass', 'pass']);
    const noNat = diagnose('full-tunnel-no-masquerade', 'full');
    expect(checks(noNat[3])).toEqual(['masquerade-missing']);
    expect(noNat[3]?.findings[0]?.action).toEqual({
      type: 'add-masquerade',
      subnet: '10.66.1.0/24',
      egressInterface: 'eth0',
    });
    const off = diagnose('healthy', 'full');
    expect(checks(off[3])).toEqual(['ip-forward-off', 'forward-blocked', 'masquerade-missing']);
  });

  it('fails performance when a full-size packet does not fit the path', () => {
    const steps = diagnose('mtu-1280');
    expect(verdicts(steps)).toEqual(['pass', 'pass', 'pass', 'pass', 'fail']);
    expect(steps[4]?.findings[0]).toMatchObject({ check: 'mtu-too-large' });
    expect(steps[4]?.findings[0]?.fix).toContain('MTU = 1200');
  });

  it('gives the same finding the same id on every run', () => {
    const a = diagnose('udp-blocked')[0]?.findings[0]?.id;
    expect(a).toMatch(/^f-[a-z0-9]{8}$/);
    expect(diagnose('udp-blocked')[0]?.findings[0]?.id).toBe(a);
  });
});

describe('the hardening audit on captured hub states', () => {
  const audit = (state: string) => runAudit(facts(state), [probedPeer(state)], '2025-01-01T00:00:00.000Z');

  it('flags nothing on the healthy hub', () => {
    const report = audit('healthy');
    expect(report.findings).toEqual([]);
    expect(report.passed).toHaveLength(12);
  });

  it('flags the extra listener, SaveConfig and the world-readable config with a chmod fix', () => {
    const report = audit('holes');
    expect(report.findings.map((f) => f.check).sort()).toEqual([
      'extra-listener',
      'key-file-mode',
      'save-config',
    ]);
    expect(report.findings.find((f) => f.check === 'key-file-mode')?.action).toEqual({
      type: 'chmod-600',
      paths: ['/etc/wireguard/wg0.conf'],
    });
  });

  it('flags SSH open to any source', () => {
    expect(audit('ssh-open').findings.map((f) => f.check)).toEqual(['ssh-open']);
  });

  it('flags forwarding with no full-tunnel peer', () => {
    expect(audit('full-tunnel').findings.map((f) => f.check)).toEqual(['ip-forward-unneeded']);
  });

  it('flags an MTU the egress link cannot carry', () => {
    expect(audit('mtu-1280').findings.map((f) => f.check)).toEqual(['mtu-too-large']);
  });
});

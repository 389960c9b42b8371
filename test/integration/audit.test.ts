import { afterAll, beforeAll, expect, it } from 'vitest';
import { renderText } from '../../src/adapters/common/render-text.js';
import type { AuditReport } from '../../src/domain/models/diagnosis.js';
import { chmodFile, enableSaveConfig, openSshToAll, startListener } from '../../src/lab/faults.js';
import { generateWgKeyPair } from '../../src/lab/host.js';
import { HUB_WG_CONFIG } from '../../src/lab/hub.js';
import { AUDIT_CHECKS } from '../../src/runbooks/hardening.js';
import { countExecs } from '../support/exec-counter.js';
import { useLab } from '../support/lab.js';
import { type Harness, replyOf, startHarness } from '../support/tunnelgate.js';

const lab = useLab({ hubs: 1, clients: 0 });

lab.describe('/vpn audit on holes opened on a lab hub', () => {
  let h: Harness;
  const hub = () =>
    lab.get().hubs[0] ??
    (() => {
      throw new Error('no hub');
    })();

  async function audit(user = 'alice'): Promise<{ report: AuditReport; jobId: string | undefined }> {
    const [queued] = await h.run(user, '/vpn audit hub1');
    expect(queued?.reply).toMatchObject({ kind: 'job.queued', text: 'auditing hub1…' });
    const done = await h.waitFor((m) => m.jobId === queued?.jobId && m.final === true);
    if (done.reply.kind !== 'audit.report') throw new Error(`no report: ${renderText(done.reply)}`);
    return { report: done.reply.report, jobId: queued?.jobId };
  }
  const checks = (r: AuditReport) => r.findings.map((f) => f.check);

  beforeAll(async () => {
    h = await startHarness(lab.get(), 'audit');
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('flags nothing on a healthy hub, every check passing, read in one exec', async () => {
    const execs = countExecs(h.runtime.worker.pool.get('hub1'));
    try {
      const { report } = await audit('carol');
      expect(report.findings).toEqual([]);
      expect(report.passed).toEqual(Object.keys(AUDIT_CHECKS));
      expect(execs.count()).toBe(1);
      expect(renderText({ kind: 'audit.report', report })).toMatch(
        new RegExp(
          `^Audit of hub1 \\(.*\\): nothing flagged; ${Object.keys(AUDIT_CHECKS).length} checks passed\\.$`,
        ),
      );
    } finally {
      execs.restore();
    }
    expect(replyOf(await h.run('dave', '/vpn audit'), 'error')?.code).toBe('FORBIDDEN');
  });

  it('SSH reachable from anywhere: a high finding on the accepting rule', async () => {
    const undo = await openSshToAll(hub(), lab.get().operatorAddress);
    try {
      const { report } = await audit();
      expect(checks(report)).toEqual(['ssh-open']);
      expect(report.findings[0]).toMatchObject({ severity: 'high', evidence: ['tcp dport 22 accept'] });
    } finally {
      await undo();
    }
  });

  it('an extra listener is flagged with the ss line', async () => {
    const undo = await startListener(hub(), 8080);
    try {
      const { report } = await audit();
      expect(checks(report)).toEqual(['extra-listener']);
      expect(report.findings[0]?.title).toBe('node listens on TCP 0.0.0.0:8080');
      expect(report.findings[0]?.evidence[0]).toMatch(/^tcp\s+LISTEN .*0\.0\.0\.0:8080 .*"node"/);
    } finally {
      await undo();
    }
  });

  it('SaveConfig = true is flagged with the config line', async () => {
    const undo = await enableSaveConfig(hub());
    try {
      const { report } = await audit();
      expect(checks(report)).toEqual(['save-config']);
      expect(report.findings[0]?.evidence).toEqual(['SaveConfig = true']);
    } finally {
      await undo();
    }
  });

  it('two peers with overlapping AllowedIPs are flagged', async () => {
    const [a, b] = await Promise.all([generateWgKeyPair(), generateWgKeyPair()]);
    await hub().exec(['wg', 'set', 'wg0', 'peer', a.publicKey, 'allowed-ips', '10.66.1.50/32']);
    await hub().exec(['wg', 'set', 'wg0', 'peer', b.publicKey, 'allowed-ips', '10.66.1.48/28']);
    try {
      const { report } = await audit();
      expect(checks(report)).toEqual(['allowed-ips-overlap']);
      expect(report.findings[0]?.cause).toContain('overlapping AllowedIPs');
      expect([...(report.findings[0]?.evidence ?? [])].sort()).toEqual(
        [
          `peer ${a.publicKey}: live allowed ips 10.66.1.50/32; file allowed ips (none)`,
          `peer ${b.publicKey}: live allowed ips 10.66.1.48/28; file allowed ips (none)`,
        ].sort(),
      );
    } finally {
      await hub().exec(['wg', 'set', 'wg0', 'peer', a.publicKey, 'remove', 'peer', b.publicKey, 'remove']);
    }
  });

  it('a world-readable key file is flagged, and its chmod fix is proposed, approved by a lead and applied', async () => {
    const undo = await chmodFile(hub(), HUB_WG_CONFIG, '644');
    try {
      const { report } = await audit('carol');
      expect(checks(report)).toEqual(['key-file-mode']);
      const f = report.findings[0];
      expect(f?.evidence).toEqual(['644 root /etc/wireguard/wg0.conf']);
      expect(f?.action).toEqual({ type: 'chmod-600', paths: ['/etc/wireguard/wg0.conf'] });

      expect(replyOf(await h.run('alice', `/vpn fix ${f?.id} --approve`), 'error')?.code).toBe('CONFLICT');
      const proposed = await h.run('carol', `/vpn fix ${f?.id}`);
      expect(renderText(replyOf(proposed, 'fix.pending') ?? { kind: 'notice', text: '' })).toContain(
        'chmod 600 /etc/wireguard/wg0.conf',
      );
      expect(replyOf(await h.run('carol', `/vpn fix ${f?.id} --approve`), 'error')?.code).toBe('FORBIDDEN');
      const [queued] = await h.run('alice', `/vpn fix ${f?.id} --approve`);
      const rerun = await h.waitFor((m) => m.jobId === queued?.jobId && m.final === true);
      expect(rerun.reply.kind === 'audit.report' ? rerun.reply.report.findings : null).toEqual([]);
      expect(
        h.messages.some((m) => m.reply.kind === 'fix.applied' && m.to.type === 'user' && m.to.id === 'carol'),
      ).toBe(true);
      expect((await hub().exec(['stat', '-c', '%a', HUB_WG_CONFIG])).stdout.trim()).toBe('600');
    } finally {
      await undo();
    }
  });
});

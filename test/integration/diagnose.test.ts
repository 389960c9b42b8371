import { afterAll, beforeAll, expect, it } from 'vitest';
import { renderText } from '../../src/adapters/common/render-text.js';
import type { DiagnoseReport, DiagnosisStep } from '../../src/domain/models/diagnosis.js';
import { ENABLE_FORWARDING_SH } from '../../src/hub/programs/fixes.js';
import {
  blockWireGuardPort,
  dropOnWireGuard,
  lowerLinkMtu,
  restoreFirewall,
  routeFullTunnel,
  setIpForward,
  stealAllowedIps,
  stopWireGuard,
  withWrongHubKey,
} from '../../src/lab/faults.js';
import { generateWgKeyPair, waitFor } from '../../src/lab/host.js';
import { FindingStore } from '../../src/store/findings.js';
import { countExecs } from '../support/exec-counter.js';
import { useLab } from '../support/lab.js';
import { type Harness, replyOf, startHarness } from '../support/tunnelgate.js';

const lab = useLab({ hubs: 1, clients: 2 });

lab.describe('/vpn diagnose on faults injected on a lab hub', () => {
  let h: Harness;
  const peers = new Map<string, { publicKey: string; config: string }>();

  const hub = () =>
    lab.get().hubs[0] ??
    (() => {
      throw new Error('no hub');
    })();
  const client = (i: number) =>
    lab.get().clients[i] ??
    (() => {
      throw new Error('no client');
    })();
  const op = () => lab.get().operatorAddress;

  async function provision(
    user: string,
    device: string,
    extra = '',
  ): Promise<{ publicKey: string; config: string }> {
    const request = replyOf(await h.run(user, `/vpn request ${device} ${extra}`), 'request.pending')?.request;
    await h.run('alice', `/vpn approve ${request?.id}`);
    // Full tunnel needs two approvals (policy default).
    if (extra.includes('--full')) await h.run('frank', `/vpn approve ${request?.id}`);
    const delivered = await h.waitFor(
      (m) => m.reply.kind === 'peer.config' && m.reply.requestId === request?.id,
    );
    const record = await h.runtime.bot.inventory.findByName(['hub1'], `${user}-${device}`);
    const config = delivered.reply.kind === 'peer.config' ? delivered.reply.configText : '';
    const peer = { publicKey: record?.publicKey ?? '', config };
    peers.set(`${user}-${device}`, peer);
    return peer;
  }

  async function diagnose(user: string, target: string): Promise<DiagnoseReport> {
    const [queued] = await h.run(user, `/vpn diagnose ${target}`);
    expect(queued?.reply.kind).toBe('job.queued');
    const done = await h.waitFor((m) => m.jobId === queued?.jobId && m.final === true);
    if (done.reply.kind !== 'diagnose.report') throw new Error(`no report: ${renderText(done.reply)}`);
    return done.reply.report;
  }

  const verdicts = (r: DiagnoseReport) => r.steps.map((s) => s.verdict);
  const step = (r: DiagnoseReport, name: DiagnosisStep['name']) => r.steps.find((s) => s.name === name);
  const checks = (s: DiagnosisStep | undefined) => s?.findings.map((f) => f.check);

  async function connected(i: number): Promise<void> {
    const ok = await waitFor(
      async () => client(i).ping(hub().hubAddress, { count: 1, timeoutSec: 2 }),
      40_000,
      100,
    );
    expect(ok).toBe(true);
  }

  beforeAll(async () => {
    h = await startHarness(lab.get(), 'diagnose', { leads: ['alice', 'frank'] });
    const bob = await provision('bob', 'laptop');
    await client(0).up(bob.config);
    await connected(0);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('answers at once, then reports every step passing on a healthy hub and peer, reading in one exec', async () => {
    const execs = countExecs(h.runtime.worker.pool.get('hub1'));
    try {
      const [queued] = await h.run('carol', '/vpn diagnose bob-laptop');
      expect(queued?.reply).toMatchObject({ kind: 'job.queued', text: 'diagnosing bob-laptop on hub1…' });
      const done = await h.waitFor((m) => m.jobId === queued?.jobId && m.final === true);
      const report = done.reply.kind === 'diagnose.report' ? done.reply.report : null;
      expect(report?.target).toEqual({ type: 'peer', peer: 'bob-laptop' });
      expect(report === null ? [] : verdicts(report)).toEqual(['pass', 'pass', 'pass', 'pass', 'pass']);
      expect(report?.steps.flatMap((s) => s.findings)).toEqual([]);
      expect(step(report as DiagnoseReport, 'tunnel')?.evidence.join('\n')).toMatch(
        /ping 10\.66\.1\.2: 1 packets transmitted, 1 received/,
      );
      expect(execs.count()).toBe(1);
    } finally {
      execs.restore();
    }
    const text = renderText({ kind: 'diagnose.report', report: await diagnose('alice', 'hub1') });
    expect(text.split('\n').slice(1, 6)).toEqual([
      expect.stringMatching(/^✅ 1\. reachability /),
      expect.stringMatching(/^✅ 2\. handshake /),
      expect.stringMatching(/^✅ 3\. tunnel /),
      expect.stringMatching(/^✅ 4\. routing /),
      expect.stringMatching(/^✅ 5\. performance /),
    ]);
  });

  it('lets an owner diagnose their own peer, and refuses others and hubs to members', async () => {
    expect(verdicts(await diagnose('bob', 'bob-laptop'))).toEqual(['pass', 'pass', 'pass', 'pass', 'pass']);
    expect(replyOf(await h.run('dave', '/vpn diagnose bob-laptop'), 'error')?.code).toBe('FORBIDDEN');
    expect(replyOf(await h.run('bob', '/vpn diagnose hub1'), 'error')?.code).toBe('FORBIDDEN');
    expect(replyOf(await h.run('carol', '/vpn diagnose nobody-here'), 'error')?.code).toBe('NOT_FOUND');
  });

  it('ICMP dropped on wg0: the handshake passes, the tunnel step fails on the firewall rule', async () => {
    const undo = await dropOnWireGuard(hub(), op());
    try {
      const report = await diagnose('carol', 'bob-laptop');
      expect(verdicts(report)).toEqual(['pass', 'pass', 'fail', 'skipped', 'skipped']);
      const [f] = step(report, 'tunnel')?.findings ?? [];
      expect(f?.check).toBe('wg-input-blocked');
      expect(f?.evidence.join('\n')).toMatch(/iifname "wg0" counter packets \d+ bytes \d+ drop/);
      expect(f?.cause).toContain('firewall drops traffic on wg0');
    } finally {
      await undo();
    }
  });

  it('MTU larger than the path: the don not fragment probe fails in the performance step', async () => {
    const undo = await lowerLinkMtu(client(0), 1280);
    try {
      const report = await diagnose('carol', 'bob-laptop');
      expect(verdicts(report)).toEqual(['pass', 'pass', 'pass', 'pass', 'fail']);
      const [f] = step(report, 'performance')?.findings ?? [];
      expect(f?.check).toBe('mtu-too-large');
      expect(f?.cause).toContain('MTU mismatch');
      expect(f?.evidence[0]).toMatch(/^probe 198\.51\.100\.\d+ size 1452 wg-mtu 1420$/);
    } finally {
      await undo();
    }
  });

  it('two peers with overlapping AllowedIPs: the other peer holds the address, the tunnel step says so', async () => {
    const dave = await provision('dave', 'phone');
    const bob = peers.get('bob-laptop')?.publicKey ?? '';
    const undo = await stealAllowedIps(
      hub(),
      dave.publicKey,
      ['10.66.1.2/32'],
      [{ publicKey: bob, allowedIps: ['10.66.1.2/32'] }],
    );
    try {
      const report = await diagnose('carol', 'bob-laptop');
      expect(verdicts(report).slice(0, 3)).toEqual(['pass', 'pass', 'fail']);
      const [f] = step(report, 'tunnel')?.findings ?? [];
      expect(f?.check).toBe('allowed-ips-overlap');
      expect(f?.title).toBe("bob-laptop's address 10.66.1.2/32 is routed to another peer");
      expect(
        f?.evidence.some((e) => e.startsWith(`peer ${dave.publicKey}`) && e.includes('10.66.1.2/32')),
      ).toBe(true);
    } finally {
      await undo();
    }
    await connected(0);
  });

  it('wrong hub public key in the client config: packets arrive, the handshake step blames the keys', async () => {
    const dave = peers.get('dave-phone');
    const wrong = await generateWgKeyPair();
    await client(1).up(withWrongHubKey(dave?.config ?? '', wrong.publicKey));
    try {
      const arrived = await waitFor(
        async () =>
          (await hub().exec(['grep', '-c', client(1).labAddress, '/proc/net/nf_conntrack'])).code === 0,
        15_000,
        100,
      );
      expect(arrived).toBe(true);
      const report = await diagnose('carol', 'dave-phone');
      expect(verdicts(report)).toEqual(['pass', 'fail', 'skipped', 'skipped', 'skipped']);
      const [f] = step(report, 'handshake')?.findings ?? [];
      expect(f?.check).toBe('no-handshake');
      expect(f?.cause).toContain('wrong keys');
      expect(f?.evidence.join('\n')).toContain(`packets arrive, unanswered: ipv4 2 udp 17`);
      expect(f?.evidence.join('\n')).toContain(`src=${client(1).labAddress}`);
    } finally {
      await client(1).down();
    }
  });

  it('full-tunnel peer without ip_forward, then without masquerade: both fixes are approved and applied', async () => {
    const erin = await provision('erin', 'desk', '--full --reason "travel"');
    // The lab hub has no internet: the client routes only the tunnel subnet; the hub still treats it as full.
    await client(1).up(erin.config.replace(/^AllowedIPs = .*$/m, `AllowedIPs = ${hub().subnet}`));
    await connected(1);
    const undoForward = await setIpForward(hub(), true);
    let undoRules = await routeFullTunnel(hub(), op());
    try {
      expect(verdicts(await diagnose('carol', 'erin-desk'))).toEqual([
        'pass',
        'pass',
        'pass',
        'pass',
        'pass',
      ]);

      const undoOff = await setIpForward(hub(), false);
      const off = await diagnose('carol', 'erin-desk');
      expect(verdicts(off)).toEqual(['pass', 'pass', 'pass', 'fail', 'skipped']);
      expect(checks(step(off, 'routing'))).toEqual(['ip-forward-off']);
      const forwarding = step(off, 'routing')?.findings[0];
      expect(forwarding?.evidence).toEqual(['net.ipv4.ip_forward = 0']);
      expect(forwarding?.action).toEqual({ type: 'enable-forwarding' });
      await h.run('carol', `/vpn fix ${forwarding?.id}`);
      const [forwardingFix] = await h.run('alice', `/vpn fix ${forwarding?.id} --approve`);
      const forwarded = await h.waitFor((m) => m.jobId === forwardingFix?.jobId && m.final === true);
      expect(
        forwarded.reply.kind === 'diagnose.report' ? verdicts(forwarded.reply.report) : forwarded.reply,
      ).toEqual(['pass', 'pass', 'pass', 'pass', 'pass']);
      expect((await hub().exec(['sysctl', '-n', 'net.ipv4.ip_forward'])).stdout.trim()).toBe('1');
      // Kept after a reboot: the drop-in inside the hub's own /etc/sysctl.d (a lab tmpfs).
      expect(await hub().readFile('/etc/sysctl.d/99-tunnelgate-forward.conf')).toMatch(
        /^net\.ipv4\.ip_forward=1$/m,
      );
      const again = await hub().exec(['sh', '-c', ENABLE_FORWARDING_SH, 'tunnelgate-forwarding']);
      expect(again.stdout).toContain('kept /etc/sysctl.d/99-tunnelgate-forward.conf');
      // A drop-in with other settings keeps them and gains the line once.
      await hub().writeFile(
        '/etc/sysctl.d/99-tunnelgate-forward.conf',
        'net.ipv6.conf.all.forwarding=1\n',
        0o644,
      );
      await hub().exec(['sh', '-c', ENABLE_FORWARDING_SH, 'tunnelgate-forwarding']);
      expect(await hub().readFile('/etc/sysctl.d/99-tunnelgate-forward.conf')).toBe(
        'net.ipv6.conf.all.forwarding=1\nnet.ipv4.ip_forward=1\n',
      );
      await undoOff();

      await undoRules();
      undoRules = await routeFullTunnel(hub(), op(), { masquerade: false });
      const noNat = await diagnose('carol', 'erin-desk');
      expect(checks(step(noNat, 'routing'))).toEqual(['masquerade-missing']);
      const f = step(noNat, 'routing')?.findings[0];
      expect(f?.action).toEqual({ type: 'add-masquerade', subnet: '10.66.1.0/24', egressInterface: 'eth0' });
      // The owner's own report leaves the chain's rules out; the finding stored for the leads keeps them.
      const own = step(await diagnose('erin', 'erin-desk'), 'routing')?.findings[0];
      expect(own?.check).toBe('masquerade-missing');
      const stored = await new FindingStore(h.runtime.bot.redis, h.runtime.bot.keys).get(f?.id ?? '');
      expect(stored?.finding.evidence).toEqual(f?.evidence);
      expect(own?.evidence).toEqual(
        (f?.evidence ?? []).filter((e) => e === 'nft list ruleset: no nat postrouting chain'),
      );

      const proposed = await h.run('carol', `/vpn fix ${f?.id}`);
      expect(replyOf(proposed, 'fix.pending')?.review).toBe(false);
      const review = proposed.find((m) => m.reply.kind === 'fix.pending' && m.reply.review);
      expect(review?.to).toEqual({ type: 'leads' });
      expect(renderText(review?.reply ?? { kind: 'notice', text: '' })).toContain(
        'nft add rule ip nat postrouting oifname "eth0" ip saddr 10.66.1.0/24 masquerade',
      );
      expect(replyOf(await h.run('carol', `/vpn fix ${f?.id} --approve`), 'error')?.code).toBe('FORBIDDEN');
      const [queued] = await h.run('alice', `/vpn fix ${f?.id} --approve`);
      expect(queued?.reply.kind).toBe('job.queued');
      const applied = await h.waitFor(
        (m) =>
          m.reply.kind === 'fix.applied' &&
          m.reply.findingId === f?.id &&
          m.to.type === 'user' &&
          m.to.id === 'alice',
      );
      expect(applied.reply).toMatchObject({
        kind: 'fix.applied',
        findingId: f?.id,
        proposedBy: 'carol',
        approvedBy: 'alice',
      });
      const rerun = await h.waitFor((m) => m.jobId === queued?.jobId && m.final === true);
      const after = rerun.reply.kind === 'diagnose.report' ? rerun.reply.report : null;
      expect(after === null ? [] : verdicts(after)).toEqual(['pass', 'pass', 'pass', 'pass', 'pass']);
      expect((await hub().exec(['nft', 'list', 'table', 'ip', 'nat'])).stdout).toContain(
        'oifname "eth0" ip saddr 10.66.1.0/24 masquerade',
      );
      expect(replyOf(await h.run('alice', `/vpn fix ${f?.id} --approve`), 'error')?.code).toBe('NOT_FOUND');
    } finally {
      await undoRules();
      await undoForward();
      await client(1).down();
    }
  });

  it('UDP port blocked by nftables: reachability fails on the counted reject rule, the rest is skipped', async () => {
    const undo = await blockWireGuardPort(hub(), op());
    try {
      // A restarted client dials from a new port: a new flow that the ct rule does not wave through.
      await client(0).down();
      await client(0).up(peers.get('bob-laptop')?.config ?? '');
      const counted = await waitFor(
        async () =>
          /counter packets [1-9]/.test(
            (await hub().exec(['nft', 'list', 'chain', 'inet', 'filter', 'input'])).stdout,
          ),
        15_000,
        100,
      );
      expect(counted).toBe(true);
      const report = await diagnose('carol', 'bob-laptop');
      expect(verdicts(report)).toEqual(['fail', 'skipped', 'skipped', 'skipped', 'skipped']);
      const [f] = step(report, 'reachability')?.findings ?? [];
      expect(f?.check).toBe('udp-blocked');
      expect(f?.evidence[0]).toMatch(
        /^inet filter input: counter packets \d+ bytes \d+ reject \([1-9]\d* packets counted\)$/,
      );
      expect(f?.cause).toContain('server-side firewall dropping UDP');
      expect(step(report, 'handshake')?.summary).toBe('skipped: step 1 (reachability) failed');
    } finally {
      await undo();
    }
    await connected(0);
  });

  it('hub interface down: reachability fails with WireGuard not running', async () => {
    const undo = await stopWireGuard(hub());
    try {
      const report = await diagnose('carol', 'bob-laptop');
      expect(verdicts(report)).toEqual(['fail', 'skipped', 'skipped', 'skipped', 'skipped']);
      const [f] = step(report, 'reachability')?.findings ?? [];
      expect(f?.check).toBe('wireguard-down');
      expect(f?.evidence).toContain('ss -lunp: nothing listens on UDP 51820');
      expect(f?.evidence).toContain('wg0 does not exist');
    } finally {
      await undo();
      await restoreFirewall(hub(), op());
    }
  });

  it("an owner's own diagnosis hides other clients' endpoints, firewall rule text and listener PIDs; a lead's shows them", async () => {
    const dave = peers.get('dave-phone');
    await client(1).up(dave?.config ?? '');
    try {
      await connected(1);
      const arrived = await waitFor(
        async () =>
          (await hub().exec(['grep', '-c', client(1).labAddress, '/proc/net/nf_conntrack'])).code === 0,
        15_000,
        100,
      );
      expect(arrived).toBe(true);
      // Never brought up: the reachability step falls back to the hub's conntrack flows.
      await provision('bob', 'tablet');
      const owner = await diagnose('bob', 'bob-tablet');
      const lead = await diagnose('alice', 'bob-tablet');
      expect(verdicts(owner)).toEqual(verdicts(lead));
      const ownerText = renderText({ kind: 'diagnose.report', report: owner });
      const leadText = renderText({ kind: 'diagnose.report', report: lead });
      for (const leak of [client(1).labAddress, client(0).labAddress, 'pid=', 'inet filter input:']) {
        expect(leadText).toContain(leak);
        expect(ownerText).not.toContain(leak);
      }
      expect(ownerText).toContain('WireGuard listens on UDP 51820');
      expect(ownerText).toContain('never completed a handshake');
    } finally {
      await client(1).down();
    }
  });
});

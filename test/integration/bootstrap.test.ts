/**
 * `tunnelgate hub bootstrap` against a bare lab host (sshd with root by key, nothing else): asked
 * for, approved by another lead, applied as root over SSH in one exec; then the whole peer
 * lifecycle runs as the least-privilege `tunnelgate` user with sudo, which can run nothing else
 * as root.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { renderText } from '../../src/adapters/common/render-text.js';
import { BootstrapRequests } from '../../src/bot/bootstrap-requests.js';
import { approveBootstrap, type BootstrapDeps, planFor, requestBootstrap } from '../../src/cli/hub.js';
import { HubConfig } from '../../src/config/schema.js';
import { TunnelgateError } from '../../src/core/errors.js';
import { createLogger } from '../../src/core/logger.js';
import { approvers } from '../../src/domain/gate.js';
import { hmacSigner } from '../../src/domain/signer.js';
import { bootstrapSteps, readOutcome } from '../../src/hub/bootstrap/script.js';
import { parsePmtu, pmtuStep } from '../../src/hub/facts/probes.js';
import { hubPrograms } from '../../src/hub/programs/catalog.js';
import { programStep } from '../../src/hub/programs/registry.js';
import { HubConnection } from '../../src/hub/ssh/hub-connection.js';
import { buildScript, readScriptOutput, runScript } from '../../src/hub/ssh/remote-script.js';
import { labConfig } from '../../src/lab/config.js';
import type { Lab } from '../../src/lab/lab.js';
import { AuditLog } from '../../src/store/audit-log.js';
import { redisKeys } from '../../src/store/keys.js';
import { listPeers, parseWgConf } from '../../src/wg/conf.js';
import { parseDump } from '../../src/wg/dump.js';
import { useLab } from '../support/lab.js';
import { freshPrefix, redisUrl } from '../support/redis.js';
import { type Harness, startHarness } from '../support/tunnelgate.js';

const lab = useLab({ hubs: 0, clients: 1, bare: 1 });
const KEY = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';

/** Awaits `promise` and expects it to reject with a TunnelgateError of `code` (and `message`). */
async function expectTunnelgateError(
  promise: Promise<unknown>,
  code: string,
  message?: RegExp,
): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TunnelgateError);
  expect((err as TunnelgateError).code).toBe(code);
  if (message !== undefined) expect((err as TunnelgateError).message).toMatch(message);
}

lab.describe('hub bootstrap of a bare lab host', () => {
  const logger = createLogger({ level: 'silent' });
  const fresh = freshPrefix('bootstrap');
  let dataDir: string;
  let redis: Redis;
  let deps: BootstrapDeps;
  let wgPublicKey = '';
  let h: Harness | undefined;

  const bare = () => {
    const found = lab.get().bare[0];
    if (found === undefined) throw new Error('no bare host');
    return found;
  };
  /** The lab with the bare host as its only hub (the bootstrap's target). */
  const asHubLab = (): Lab => ({ ...lab.get(), hubs: [bare().asHub(wgPublicKey)] });
  const sshFrom = () => [`${lab.get().operatorAddress}/32`];
  const hubEntry = (overrides: Record<string, unknown>) =>
    HubConfig.parse({ ...asHubLab().hubs[0]?.configEntry(), ...overrides });
  const hubName = () => bare().name;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tg-bootstrap-'));
    redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
    const config = labConfig(asHubLab(), {
      redisUrl: redisUrl(),
      prefix: fresh.prefix,
      dataDir,
      leads: ['alice', 'dave'],
    });
    const signer = hmacSigner({ decision: randomBytes(32), job: randomBytes(32), audit: randomBytes(32) });
    const keys = redisKeys(fresh.prefix);
    deps = {
      config,
      redis,
      keys,
      signer,
      audit: new AuditLog(redis, keys, signer),
      logger,
      clock: () => new Date(),
    };
  });
  afterAll(async () => {
    await h?.stop();
    redis?.disconnect();
    await fresh.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('applies only after a second lead approves, as root over SSH, and hardens the host', async () => {
    const options = { sshFrom: sshFrom(), routing: false };
    const { request } = await requestBootstrap(deps, hubName(), options, 'alice');
    expect(request.state).toBe('pending');
    expect(request.files).toContain('/etc/sudoers.d/tunnelgate');

    await expectTunnelgateError(approveBootstrap(deps, request.id, 'alice'), 'FORBIDDEN', /your own/);
    await expectTunnelgateError(approveBootstrap(deps, request.id, 'bob'), 'FORBIDDEN', /only leads/);
    expect((await bare().host.exec(['id', 'tunnelgate'])).code).not.toBe(0);

    const { outcome } = await approveBootstrap(deps, request.id, 'dave');
    wgPublicKey = outcome.publicKey;
    expect(wgPublicKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const store = new BootstrapRequests(redis, redisKeys(fresh.prefix));
    const applied = await store.get(request.id);
    expect(applied.state).toBe('applied');
    expect(approvers(applied.gate)).toEqual(['dave']);
    await expectTunnelgateError(approveBootstrap(deps, request.id, 'dave'), 'CONFLICT', /already applied/);

    const host = bare().host;
    const stat = async (path: string) =>
      (await host.execChecked(['stat', '-c', '%a %U', path])).stdout.trim();
    expect(await stat('/etc/sudoers.d/tunnelgate')).toBe('440 root');
    expect(await stat('/usr/local/lib/tunnelgate/tunnelgate-persist')).toBe('755 root');
    expect(await stat('/etc/wireguard/wg0.key')).toBe('600 root');
    expect(await stat('/etc/wireguard/wg0.conf')).toBe('600 root');
    expect(await host.readFile('/etc/wireguard/wg0.conf')).not.toMatch(/PrivateKey/i);
    expect((await host.execChecked(['wg', 'show', 'wg0', 'public-key'])).stdout.trim()).toBe(wgPublicKey);
    const ruleset = (await host.execChecked(['nft', 'list', 'ruleset'])).stdout;
    expect(ruleset).toContain('policy drop;');
    expect(ruleset).toContain('udp dport 51820 accept');
    expect(ruleset).toContain(`ip saddr ${lab.get().operatorAddress} tcp dport 22 accept`);
    expect((await host.execChecked(['sysctl', '-n', 'net.ipv4.ip_forward'])).stdout.trim()).toBe('0');
    expect(outcome.listeners).toMatch(/:51820\b/);
    // The private key never crossed SSH: it is not in the audit log or the request either.
    const key = (await host.readFile('/etc/wireguard/wg0.key')).trim();
    const audit = JSON.stringify(await redis.xrange(`${fresh.prefix}:audit`, '-', '+'));
    expect(audit).toContain('"bootstrap"');
    expect(audit).not.toContain(key);
    expect(JSON.stringify(await store.get(request.id))).not.toContain(key);
  });

  it('lets the tunnelgate user run only its programs as root, refuses everything else, and shuts root out', async () => {
    const conn = new HubConnection(hubEntry({ user: 'tunnelgate', sudo: true }), { logger });
    try {
      expect((await conn.exec(['id', '-un'], { sudo: false })).stdout.trim()).toBe('tunnelgate');
      const id = await conn.exec(['id']);
      expect(id.exitCode).not.toBe(0);
      expect((await conn.exec(['sh', '-c', 'id'])).exitCode).not.toBe(0);
      expect((await conn.exec(['cat', '/etc/shadow'])).exitCode).not.toBe(0);
      // Not even wg: every live change goes through a program that pins the interface.
      expect((await conn.exec(['/usr/bin/wg', 'show', 'wg0', 'private-key'])).exitCode).not.toBe(0);
      const program = (name: string) => `/usr/local/lib/tunnelgate/tunnelgate-${name}`;
      const dump = await conn.exec([program('dump'), 'wg0']);
      expect(dump.stdout.split('\t')[1]).toBe(wgPublicKey);
      expect(dump.stdout).toMatch(/^\(hidden\)\t/);
      expect((await conn.exec([program('wg-set'), 'wg0', KEY, '/etc/shadow'])).exitCode).toBe(64);
      // Another interface on the same host is out of reach, however well-formed the rest.
      for (const [name, args] of [
        ['wg-set', ['wg1', KEY, '10.9.0.2/32']],
        ['wg-remove', ['eth0', KEY]],
        ['dump', ['lo']],
      ] as const) {
        const other = await conn.exec([program(name), ...args]);
        expect(other.exitCode, name).toBe(64);
        expect(other.stderr, name).toContain("this hub's interface is wg0");
      }
      // A key with no "/" that starts with "+" is still a key, not a refused word.
      const plusKey = `+${'A'.repeat(41)}E=`;
      const checked = await conn.exec([program('check'), 'wg0', plusKey, '/etc/wireguard/wg0.conf']);
      expect(checked.stdout, checked.stderr).toContain('live -');
      expect((await conn.exec([program('modes'), '/etc/wireguard'])).stdout).toContain(
        '600 root /etc/wireguard/wg0.key',
      );
      expect((await conn.exec([program('modes'), '/etc'])).exitCode).toBe(64);
      await bare().host.execChecked(['ln', '-sf', '/etc/shadow', '/etc/wireguard/shadow-link']);
      try {
        for (const path of ['/etc/shadow', '/etc/wireguard/../shadow', '/etc/wireguard/shadow-link']) {
          const chmod = await conn.exec([program('chmod-private'), path]);
          expect(chmod.exitCode, path).toBe(64);
          expect(chmod.stderr, path).toContain('refused');
        }
      } finally {
        await bare().host.execChecked(['rm', '-f', '/etc/wireguard/shadow-link']);
      }
      expect((await bare().host.execChecked(['stat', '-c', '%a', '/etc/shadow'])).stdout.trim()).not.toBe(
        '600',
      );
      const conf = '/usr/local/lib/tunnelgate/tunnelgate-conf';
      expect((await conn.exec([conf, '/etc/wireguard/wg0.conf'])).exitCode).toBe(0);
      const shadow = await conn.exec([conf, '/etc/shadow']);
      expect(shadow.exitCode).toBe(64);
      expect(shadow.stderr).toContain('refused');
      // Files beside the config (the hub's private key) are only for the programs that list modes
      // and tighten them, never for one that prints a file.
      const hubKey = await conn.exec([conf, '/etc/wireguard/wg0.key']);
      expect(hubKey.exitCode).toBe(64);
      expect(hubKey.stdout).toBe('');
      expect((await conn.exec([conf, '/etc/wireguard'])).exitCode).toBe(64);
      const persist = '/usr/local/lib/tunnelgate/tunnelgate-persist';
      const key = KEY;
      const injected = await conn.exec([persist, 'wg0', '/etc/wireguard/wg0.conf', key], {
        input: `\n[Peer]\nPublicKey = ${key}\nPostUp = id\n`,
      });
      expect(injected.exitCode).toBe(64);
      expect(await bare().host.readFile('/etc/wireguard/wg0.conf')).not.toContain(key);
    } finally {
      await conn.close();
    }
    const root = new HubConnection(hubEntry({ user: 'root' }), { logger });
    try {
      await expectTunnelgateError(root.exec(['true']), 'SSH_AUTH_FAILED');
    } finally {
      await root.close();
    }
  });

  it('runs the hub-wide PMTU probe as the tunnelgate user, and refuses the guard holes the review found', async () => {
    const conn = new HubConnection(hubEntry({ user: 'tunnelgate', sudo: true }), { logger });
    const program = (name: string) => `/usr/local/lib/tunnelgate/tunnelgate-${name}`;
    const confPath = '/etc/wireguard/wg0.conf';
    const before = await bare().host.readFile(confPath);
    await bare().host.execChecked(['wg', 'set', 'wg0', 'peer', KEY, 'endpoint', '192.0.2.7:51820']);
    try {
      // Any peer's endpoint (no peer named): the probe ran, it was not refused by the guard.
      const results = await runScript(conn, [pmtuStep('wg0', null)]);
      expect(results.pmtu?.stderr).not.toContain('refused');
      expect(parsePmtu(results.pmtu?.stdout ?? '')?.host).toBe('192.0.2.7');
      // '' used to pass every program: tunnelgate-modes '' listed / as root.
      const listed = await conn.exec([program('modes'), '']);
      expect(listed.exitCode).toBe(64);
      expect(listed.stdout).toBe('');
      const section = `\n[Peer]\nPublicKey = ${KEY}\nAllowedIPs = 10.9.0.2/32\n`;
      // A relative config name used to leave a root-owned temp file in the programs' directory.
      const relative = await conn.exec([program('persist'), 'wg0', 'wg0.conf', KEY], { input: section });
      expect(relative.exitCode).toBe(64);
      expect((await bare().host.execChecked(['ls', '-A', '/var/lib/tunnelgate/empty'])).stdout).toBe('');
      for (const input of [`${section}\0\n`, `PublicKey = ${KEY}\nAllowedIPs = 10.9.0.2/32\n`]) {
        const refused = await conn.exec([program('persist'), 'wg0', confPath, KEY], { input });
        expect(refused.exitCode, JSON.stringify(input)).toBe(64);
      }
      expect(await bare().host.readFile(confPath)).toBe(before);
    } finally {
      await bare().host.execChecked(['wg', 'set', 'wg0', 'peer', KEY, 'remove']);
      await conn.close();
    }
  });

  it('changes nothing when run again, keeping wg0.conf and the hub key', async () => {
    const { plan } = await planFor(deps.config, hubName(), { sshFrom: sshFrom(), routing: false });
    const script = buildScript(bootstrapSteps(plan, sshFrom()));
    const output = await bare().host.exec(['sh', '-s'], { input: script.text });
    const outcome = readOutcome(
      plan,
      readScriptOutput(script, { ...output, exitCode: output.code }, hubName()),
    );
    expect(outcome.publicKey).toBe(wgPublicKey);
    expect(outcome.files[0]).toBe('kept /etc/wireguard/wg0.conf');
    for (const line of outcome.files.slice(1)) expect(line).toMatch(/^unchanged /);
  });

  it('runs the full peer lifecycle as the non-root tunnelgate user', async () => {
    h = await startHarness(asHubLab(), 'bootstrap-lifecycle', { hub: { user: 'tunnelgate', sudo: true } });
    const hub = asHubLab().hubs[0];
    if (hub === undefined) throw new Error('no hub');
    const pending = await h.run('bob', '/vpn request laptop --reason "bootstrapped hub"');
    const id = pending[0]?.reply.kind === 'request.pending' ? pending[0].reply.request.id : '';
    await h.run('alice', `/vpn approve ${id}`);
    const config = await h.waitFor((m) => m.reply.kind === 'peer.config', 60_000);
    const text = config.reply.kind === 'peer.config' ? config.reply.configText : '';
    const client = lab.get().clients[0];
    await client?.up(text);
    expect(await client?.ping(hub.hubAddress, { count: 2, timeoutSec: 5 })).toBe(true);
    const live = parseDump((await hub.exec(['wg', 'show', 'wg0', 'dump'])).stdout).peers;
    expect(live.find((p) => p.allowedIps.length > 0)?.latestHandshake).toBeGreaterThan(0);
    const inFile = listPeers(parseWgConf(await hub.readFile('/etc/wireguard/wg0.conf')));
    expect(inFile.map((p) => p.meta?.peer)).toEqual(['bob-laptop']);

    await h.run('bob', '/vpn revoke bob-laptop');
    await h.waitFor((m) => m.reply.kind === 'peer.revoked', 60_000);
    expect(parseDump((await hub.exec(['wg', 'show', 'wg0', 'dump'])).stdout).peers).toEqual([]);
    expect(listPeers(parseWgConf(await hub.readFile('/etc/wireguard/wg0.conf')))).toEqual([]);
    expect(await client?.ping(hub.hubAddress, { count: 2, timeoutSec: 2 })).toBe(false);
    await client?.down();
    expect(h.log()).not.toContain('HUB_COMMAND_FAILED');
  });

  it('audits, fixes and diagnoses as the tunnelgate user, every read answered', async () => {
    if (h === undefined) throw new Error('the lifecycle test starts the harness');
    const harness = h;
    const finished = async (command: string, user: string) => {
      const [queued] = await harness.run(user, command);
      expect(queued?.reply.kind, renderText(queued?.reply ?? { kind: 'notice', text: '' })).toBe(
        'job.queued',
      );
      return (await harness.waitFor((m) => m.jobId === queued?.jobId && m.final === true, 60_000)).reply;
    };
    await bare().host.execChecked(['chmod', '640', '/etc/wireguard/wg0.key']);
    const audited = await finished(`/vpn audit ${hubName()}`, 'alice');
    if (audited.kind !== 'audit.report') throw new Error(`no audit report: ${renderText(audited)}`);
    // The ruleset and the listeners (root-only reads) were read: their checks passed. The
    // installed programs are byte for byte what this Tunnelgate renders.
    expect(audited.report.passed).toEqual(
      expect.arrayContaining(['input-policy', 'ssh-source', 'listeners', 'hub-programs']),
    );
    expect(audited.report.findings.map((f) => f.check)).toEqual(['key-file-mode']);
    const finding = audited.report.findings[0];
    expect(finding?.action).toEqual({ type: 'chmod-600', paths: ['/etc/wireguard/wg0.key'] });

    await harness.run('carol', `/vpn fix ${finding?.id}`);
    const rerun = await finished(`/vpn fix ${finding?.id} --approve`, 'alice');
    expect(rerun.kind === 'audit.report' ? rerun.report.findings : rerun).toEqual([]);
    expect(
      (await bare().host.execChecked(['stat', '-c', '%a', '/etc/wireguard/wg0.key'])).stdout.trim(),
    ).toBe('600');

    const diagnosed = await finished(`/vpn diagnose ${hubName()}`, 'alice');
    if (diagnosed.kind !== 'diagnose.report') throw new Error(`no diagnosis: ${renderText(diagnosed)}`);
    const reachability = diagnosed.report.steps.find((s) => s.name === 'reachability');
    expect(reachability?.verdict, renderText(diagnosed)).toBe('pass');
    expect(h.log()).not.toContain('HUB_COMMAND_FAILED');
  });

  it('audits a hub whose programs are missing or changed, and tells to apply the bootstrap again', async () => {
    if (h === undefined) throw new Error('the lifecycle test starts the harness');
    const harness = h;
    const host = bare().host;
    const dir = '/usr/local/lib/tunnelgate';
    await host.execChecked(['mv', `${dir}/tunnelgate-set-expires`, '/root/set-expires.kept']);
    await host.execChecked(['cp', '-p', `${dir}/tunnelgate-dump`, '/root/dump.kept']);
    await host.execChecked(['sh', '-c', `echo '# edited' >> ${dir}/tunnelgate-dump`]);
    try {
      const [queued] = await harness.run('alice', `/vpn audit ${hubName()}`);
      const { reply } = await harness.waitFor((m) => m.jobId === queued?.jobId && m.final === true, 60_000);
      if (reply.kind !== 'audit.report') throw new Error(`no audit report: ${renderText(reply)}`);
      const stale = reply.report.findings.find((f) => f.check === 'hub-programs');
      expect(stale?.severity).toBe('high');
      expect(stale?.evidence).toEqual([
        `missing: ${dir}/tunnelgate-set-expires`,
        `differs from this Tunnelgate's: ${dir}/tunnelgate-dump`,
      ]);
      expect(renderText(reply)).toContain(`tunnelgate hub bootstrap ${hubName()}`);

      // A job step that needs the missing program fails at once, saying what to do (not retried).
      const setExpires = hubPrograms().find((p) => p.name === 'tunnelgate-set-expires');
      if (setExpires === undefined) throw new Error('set-expires is not registered');
      const conn = new HubConnection(hubEntry({ user: 'tunnelgate', sudo: true }), { logger });
      try {
        const step = programStep('set-expires', setExpires, ['/etc/wireguard/wg0.conf', KEY, 'null']);
        const failed = await runScript(conn, [step]).catch((err: unknown) => err);
        expect(failed).toBeInstanceOf(TunnelgateError);
        const error = failed as TunnelgateError;
        // A host whose name does not resolve makes sudo print a warning first (a fresh container does).
        expect(error.stderrTail).toMatch(/sudo: a password is required$/);
        expect(error.code).toBe('HUB_STATE_INVALID');
        expect(error.retryable).toBe(false);
        expect(error.message).toBe(
          `step "set-expires": sudo on hub "${hubName()}" refused Tunnelgate's program tunnelgate-set-expires: it is not installed there, or the hub has no sudoers entry for Tunnelgate's user`,
        );
        expect(error.hint).toContain(`apply \`tunnelgate hub bootstrap ${hubName()}\` again`);
      } finally {
        await conn.close();
      }
    } finally {
      await host.execChecked(['mv', '/root/set-expires.kept', `${dir}/tunnelgate-set-expires`]);
      await host.execChecked(['mv', '/root/dump.kept', `${dir}/tunnelgate-dump`]);
    }
  });
});

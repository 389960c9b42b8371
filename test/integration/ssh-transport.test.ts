/**
 * The SSH transport against a real lab hub (OpenSSH sshd, MaxSessions 10, pinned ed25519 host
 * key, nftables admitting only the operator): host key pinning, auth and reachability failures,
 * channel limits, idle and command timeouts, and batched remote scripts with hostile input.
 */

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, expect, it } from 'vitest';
import { HubConfig } from '../../src/config/schema.js';
import { TunnelgateError } from '../../src/core/errors.js';
import { createLogger } from '../../src/core/logger.js';
import { hmacSigner } from '../../src/domain/signer.js';
import { type ConnectionHooks, HubConnection } from '../../src/hub/ssh/hub-connection.js';
import { fingerprint, knownHostsName, parsePublicKey } from '../../src/hub/ssh/known-hosts.js';
import { runScript, ScriptFailedError } from '../../src/hub/ssh/remote-script.js';
import type { LabHub } from '../../src/lab/hub.js';
import { AuditLog } from '../../src/store/audit-log.js';
import { FirstUseKeys, type FirstUseStore } from '../../src/store/host-keys.js';
import { redisKeys } from '../../src/store/keys.js';
import { parseDump } from '../../src/wg/dump.js';
import { useLab } from '../support/lab.js';
import { freshPrefix, redisUrl } from '../support/redis.js';

const lab = useLab({ hubs: 1, clients: 0 });
const logger = createLogger({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'tg-ssh-transport-'));
const open: HubConnection[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((conn) => conn.close()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function hub1(): LabHub {
  const hub = lab.get().hubs[0];
  if (hub === undefined) throw new Error('the lab has no hub');
  return hub;
}

/**
 * A connection to lab hub1, with config overrides and hooks that record connects and disconnects.
 * `until(event)` resolves when the hooks report `event` (at once if they already did): a test
 * waits for the event itself, never for a state that changes before the hook runs (the idle timer
 * drops the connection for new commands first and reports once ssh2 says the socket closed).
 */
function connect(
  overrides: Record<string, unknown> = {},
  ssh: Record<string, unknown> = {},
  firstUse?: FirstUseStore,
) {
  const events: string[] = [];
  const waiters: Array<{ event: string; resolve: () => void }> = [];
  const record = (event: string) => {
    events.push(event);
    for (const waiter of waiters.filter((w) => w.event === event)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };
  const until = (event: string): Promise<void> =>
    events.includes(event) ? Promise.resolve() : new Promise((resolve) => waiters.push({ event, resolve }));
  const hooks: ConnectionHooks = {
    onConnected: () => record('connected'),
    onDisconnected: (_, reason) => record(`disconnected:${reason}`),
  };
  const config = HubConfig.parse({
    ...hub1().configEntry(),
    ...overrides,
    ssh: { connectTimeoutMs: 5_000, ...ssh },
  });
  const conn = new HubConnection(config, { logger, hooks, ...(firstUse === undefined ? {} : { firstUse }) });
  open.push(conn);
  return { conn, events, until };
}

function keygen(name: string): string {
  const path = join(dir, `${name}-${randomBytes(3).toString('hex')}`);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', path]);
  return path;
}

function fingerprintOf(line: string): string {
  const key = parsePublicKey(line);
  if (key === undefined) throw new Error(`not a key: ${line}`);
  return fingerprint(key.key);
}

async function failure(promise: Promise<unknown>): Promise<TunnelgateError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TunnelgateError);
  return err as TunnelgateError;
}

/** A path on the hub that hostile input would create if it ever ran. */
function canary(): string {
  return `/tmp/tg-pwned-${randomBytes(4).toString('hex')}`;
}

async function existsOnHub(path: string): Promise<boolean> {
  return (await hub1().exec(['test', '-e', path])).code === 0;
}

lab.describe('SSH transport on a lab hub', () => {
  it('runs wg show wg0 dump with the pinned host key and gets the parsed dump', async () => {
    const { conn } = connect();
    const result = await conn.exec(['wg', 'show', 'wg0', 'dump']);
    expect(result.exitCode).toBe(0);
    const dump = parseDump(result.stdout);
    expect(dump.interface).toEqual({ publicKey: hub1().wgPublicKey, listenPort: 51820, fwmark: null });
    expect(dump.peers).toEqual([]);
  });

  it('refuses a different pinned key with HOST_KEY_MISMATCH naming both fingerprints, running nothing', async () => {
    const wrong = readFileSync(`${keygen('wrong-host')}.pub`, 'utf8').trim();
    const knownHosts = join(dir, 'known_hosts-wrong');
    writeFileSync(knownHosts, `${hub1().labAddress} ${wrong}\n`);
    const { conn, events } = connect({ knownHosts });
    const marker = canary();
    const err = await failure(conn.exec(['touch', marker]));
    expect(err.code).toBe('HOST_KEY_MISMATCH');
    expect(err.hub).toBe('hub1');
    expect(err.message).toContain('"hub1"');
    expect(err.message).toContain(`expected ${fingerprintOf(wrong)}`);
    expect(err.message).toContain(`offered ${fingerprintOf(hub1().hostPublicKey)}`);
    expect(events).toEqual([]);
    expect(await existsOnHub(marker)).toBe(false);
  });

  it('refuses an unknown host with HOST_KEY_UNKNOWN', async () => {
    const knownHosts = join(dir, 'known_hosts-empty');
    writeFileSync(knownHosts, '');
    const { conn } = connect({ knownHosts });
    const err = await failure(conn.exec(['true']));
    expect(err.code).toBe('HOST_KEY_UNKNOWN');
    expect(err.message).toContain(fingerprintOf(hub1().hostPublicKey));
  });

  it('trusts on first use by recording the key, which then pins the hub', async () => {
    const knownHosts = join(dir, 'tofu', 'known_hosts');
    const first = connect({ knownHosts, trustOnFirstUse: true }).conn;
    expect((await first.exec(['echo', 'first'])).stdout).toBe('first\n');
    expect(readFileSync(knownHosts, 'utf8')).toBe(`${hub1().labAddress} ${hub1().hostPublicKey}\n`);
    const pinned = connect({ knownHosts }).conn;
    expect((await pinned.exec(['echo', 'pinned'])).stdout).toBe('pinned\n');
  });

  /** Every worker of a deployment shares the deployment secret, so its audit entries chain alike. */
  const AUDIT_KEY = Buffer.alloc(32, 7);
  /** A worker's view of the shared first-use pins: its own Redis connection and store. */
  function worker(prefix: string) {
    const redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
    redises.push(redis);
    const audit = new AuditLog(
      redis,
      redisKeys(prefix),
      hmacSigner({ decision: AUDIT_KEY, job: AUDIT_KEY, audit: AUDIT_KEY }),
    );
    return { audit, store: new FirstUseKeys(redis, redisKeys(prefix), audit, () => new Date()) };
  }
  const redises: Redis[] = [];
  const noFile = { knownHosts: undefined, trustOnFirstUse: true };

  it('trusts on first use without knownHosts once for all workers: pinned in Redis and audited, kept after a restart', async () => {
    const p = freshPrefix('tofu-redis');
    try {
      const [a, b] = [worker(p.prefix), worker(p.prefix)];
      // Two workers meet the hub for the first time at once: one pin, one audit entry.
      const out = await Promise.all([
        connect(noFile, {}, a.store).conn.exec(['echo', 'a']),
        connect(noFile, {}, b.store).conn.exec(['echo', 'b']),
      ]);
      expect(out.map((r) => r.stdout)).toEqual(['a\n', 'b\n']);
      const pin = await a.store.get('hub1', knownHostsName(hub1().labAddress, hub1().sshPort));
      expect(pin?.fingerprint).toBe(fingerprintOf(hub1().hostPublicKey));
      // A restarted worker (new process state, same Redis) sees the pin: no second first use.
      const restarted = worker(p.prefix);
      expect((await connect(noFile, {}, restarted.store).conn.exec(['echo', 'c'])).stdout).toBe('c\n');
      const trusted = (await restarted.audit.tail(20)).filter((e) => e.action === 'host-key-trust');
      expect(trusted).toHaveLength(1);
      expect(trusted[0]).toMatchObject({ hub: 'hub1', result: 'ok', actor: 'worker' });
      expect(trusted[0]?.detail).toContain(fingerprintOf(hub1().hostPublicKey));
    } finally {
      await p.cleanup();
    }
  });

  it('refuses, after a restart, a hub whose host key is not the one trusted on first use (HOST_KEY_MISMATCH)', async () => {
    const p = freshPrefix('tofu-changed');
    try {
      const name = knownHostsName(hub1().labAddress, hub1().sshPort);
      const other = parsePublicKey(readFileSync(`${keygen('earlier-host')}.pub`, 'utf8'));
      const earlier = {
        keyType: other?.keyType ?? '',
        key: other?.key.toString('base64') ?? '',
        fingerprint: fingerprint(other?.key ?? Buffer.alloc(0)),
      };
      // The key seen at first use, by a worker before the restart.
      await worker(p.prefix).store.pinFirst('hub1', name, earlier);
      const restarted = worker(p.prefix);
      const err = await failure(connect(noFile, {}, restarted.store).conn.exec(['true']));
      expect(err.code).toBe('HOST_KEY_MISMATCH');
      expect(err.message).toContain(`expected ${earlier.fingerprint}`);
      expect((await restarted.store.get('hub1', name))?.fingerprint).toBe(earlier.fingerprint);
      expect((await restarted.audit.tail(20)).filter((e) => e.action === 'host-key-trust')).toHaveLength(1);
    } finally {
      await p.cleanup();
    }
  });

  afterAll(() => {
    for (const r of redises) r.disconnect();
  });

  it('fails with SSH_AUTH_FAILED for a key the hub does not know', async () => {
    const { conn } = connect({ privateKeyPath: keygen('stranger') });
    const err = await failure(conn.exec(['true']));
    expect(err.code).toBe('SSH_AUTH_FAILED');
    expect(err.message).toContain('"hub1"');
    expect(err.hint).toContain('authorized_keys');
  });

  it('fails fast with SSH_UNREACHABLE for a closed port', async () => {
    const { conn } = connect({ port: 2222 });
    const started = Date.now();
    const err = await failure(conn.exec(['true']));
    expect(Date.now() - started).toBeLessThan(5_000 + 2_000);
    expect(err.code).toBe('SSH_UNREACHABLE');
    expect(err.message).toBe(`cannot reach hub "hub1" (${hub1().labAddress}:2222): connection refused`);
  });

  it('fails with SSH_UNREACHABLE within connectTimeoutMs for an address with no host, queued commands too', async () => {
    const octets = hub1().labAddress.split('.').map(Number);
    const nobody = [...octets.slice(0, 3), (octets[3] ?? 0) + 28].join('.');
    const { conn } = connect({ host: nobody }, { connectTimeoutMs: 1_500, maxChannels: 2 });
    const started = Date.now();
    // Ten commands, two channels: the queued ones share the one failed connect.
    const errors = await Promise.all(Array.from({ length: 10 }, () => failure(conn.exec(['true']))));
    expect(Date.now() - started).toBeLessThan(1_500 + 2_000);
    for (const err of errors) {
      expect(err.code).toBe('SSH_UNREACHABLE');
      expect(err.message).toMatch(
        new RegExp(`^cannot reach hub "hub1" \\(${nobody}:22\\): (timed out|no route)`),
      );
    }
  });

  it('runs 20 parallel commands on one connection, at most maxChannels at a time', async () => {
    const { conn, events } = connect({}, { maxChannels: 8 });
    let peak = 0;
    let queued = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, conn.activeChannels);
      queued = Math.max(queued, conn.queuedCommands);
    }, 2);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => conn.exec(['sh', '-c', 'sleep 0.2; echo "$1"', 'sh', `n${i}`])),
    ).finally(() => clearInterval(sampler));
    expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 20 }, (_, i) => `n${i}\n`));
    expect(results.every((r) => r.exitCode === 0)).toBe(true);
    expect(peak).toBeLessThanOrEqual(8);
    expect(queued).toBeGreaterThan(0);
    expect(events).toEqual(['connected']);
  });

  it('starts queued commands in FIFO order', async () => {
    const { conn } = connect({}, { maxChannels: 1 });
    const stamps = await Promise.all(
      Array.from({ length: 5 }, () => conn.exec(['date', '+%s%N']).then((r) => BigInt(r.stdout.trim()))),
    );
    expect([...stamps].sort((a, b) => (a < b ? -1 : 1))).toEqual(stamps);
  });

  it('returns a non-zero exit as a result, and prefixes sudo -n when asked', async () => {
    const { conn } = connect();
    expect(await conn.exec(['sh', '-c', 'echo out; echo err >&2; exit 3'])).toEqual({
      stdout: 'out\n',
      stderr: 'err\n',
      exitCode: 3,
    });
    // sudo sets SUDO_USER for the command it runs: present only when the prefix was sent.
    const probe = ['sh', '-c', 'echo "user=$SUDO_USER"'];
    expect((await conn.exec(probe)).stdout).toBe('user=\n');
    expect((await conn.exec(probe, { sudo: true })).stdout).toBe('user=root\n');
  });

  it('closes an idle connection and reconnects on the next command', async () => {
    const { conn, events, until } = connect({}, { idleTimeoutMs: 300 });
    await conn.exec(['true']);
    await until('disconnected:idle');
    expect(conn.connected).toBe(false);
    expect(events).toEqual(['connected', 'disconnected:idle']);
    expect((await conn.exec(['echo', 'back'])).stdout).toBe('back\n');
    expect(events).toEqual(['connected', 'disconnected:idle', 'connected']);
  });

  it('fails a command cut off by a dropped connection with SSH_CHANNEL, then reconnects', async () => {
    const { conn, events, until } = connect();
    // The parent of a session's shell is the sshd process serving this one connection.
    const sshdPid = (await conn.exec(['sh', '-c', 'echo $PPID'])).stdout.trim();
    expect(sshdPid).toMatch(/^\d+$/);
    const running = failure(conn.exec(['sleep', '5']));
    await hub1().exec(['kill', sshdPid]);
    expect((await running).code).toBe('SSH_CHANNEL');
    await until('disconnected:lost');
    expect(conn.connected).toBe(false);
    expect(events).toEqual(['connected', 'disconnected:lost']);
    expect((await conn.exec(['echo', 'again'])).stdout).toBe('again\n');
  });

  it('abandons a command after timeoutMs with SSH_TIMEOUT and stays usable', async () => {
    const { conn } = connect();
    const started = Date.now();
    const err = await failure(conn.exec(['sleep', '5'], { timeoutMs: 500 }));
    expect(Date.now() - started).toBeLessThan(500 + 2_000);
    expect(err.code).toBe('SSH_TIMEOUT');
    expect(err.hub).toBe('hub1');
    expect(conn.activeChannels).toBe(0);
    expect((await conn.exec(['echo', 'still usable'])).stdout).toBe('still usable\n');
  });

  it('passes hostile argv to a plain exec verbatim', async () => {
    const { conn } = connect();
    const marker = canary();
    const hostile = [
      `'; touch ${marker}; '`,
      `$(touch ${marker})`,
      `\`touch ${marker}\``,
      `\ntouch ${marker}\n`,
      '$(id)',
    ];
    const result = await conn.exec(['printf', '%s\\0', ...hostile]);
    expect(result.stdout.split('\0').slice(0, -1)).toEqual(hostile);
    expect(await existsOnHub(marker)).toBe(false);
  });

  it('runs a remote script in ONE exec with per-step outputs and hostile data kept verbatim', async () => {
    const { conn } = connect();
    const marker = canary();
    const hostile = [
      `'; touch ${marker}; '`,
      '$(id)',
      `\`touch ${marker}\``,
      `a\nb; touch ${marker}`,
      '"$HOME"',
    ];
    const input = `${hostile.join('\n')}\n'; touch ${marker}; '`;
    const results = await runScript(conn, [
      { name: 'dump', argv: ['wg', 'show', 'wg0', 'dump'] },
      { name: 'argv', argv: ['printf', '%s\\0', ...hostile] },
      { name: 'input', argv: ['cat'], input },
      { name: 'shell-a', argv: ['sh', '-c', 'echo $PPID'] },
      { name: 'shell-b', argv: ['sh', '-c', 'echo $PPID'] },
    ]);
    expect(results.dump?.stdout).toContain(hub1().wgPublicKey);
    expect(results.argv?.stdout.split('\0').slice(0, -1)).toEqual(hostile);
    expect(results.input?.stdout).toBe(input);
    // Both steps ran under the same `sh -s`: one exec, one session.
    expect(results['shell-a']?.stdout).toMatch(/^\d+\n$/);
    expect(results['shell-b']?.stdout).toBe(results['shell-a']?.stdout);
    expect(await existsOnHub(marker)).toBe(false);
  });

  it('stops a remote script at the first failing step with HUB_COMMAND_FAILED', async () => {
    const { conn } = connect();
    const marker = canary();
    const err = await failure(
      runScript(conn, [
        { name: 'fine', argv: ['echo', 'ok'] },
        { name: 'tolerated', argv: ['false'], allowFail: true },
        { name: 'breaks', argv: ['sh', '-c', 'echo "no such peer" >&2; exit 3'] },
        { name: 'never', argv: ['touch', marker] },
      ]),
    );
    expect(err).toBeInstanceOf(ScriptFailedError);
    expect(err.code).toBe('HUB_COMMAND_FAILED');
    expect(err.hub).toBe('hub1');
    expect(err.exitCode).toBe(3);
    expect(err.stderrTail).toBe('no such peer');
    expect(err.message).toContain('"breaks"');
    expect((err as ScriptFailedError).steps.map((s) => [s.name, s.status])).toEqual([
      ['fine', 'ok'],
      ['tolerated', 'failed'],
      ['breaks', 'failed'],
      ['never', 'skipped'],
    ]);
    expect(await existsOnHub(marker)).toBe(false);
  });
});

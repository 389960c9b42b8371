import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { renderText } from '../../src/adapters/common/render-text.js';
import type { Message } from '../../src/domain/models/reply.js';
import { renderHubRuleset } from '../../src/lab/nftables.js';
import { listPeers, parseWgConf } from '../../src/wg/conf.js';
import { parseDump } from '../../src/wg/dump.js';
import { useLab } from '../support/lab.js';
import { type Harness, replyOf, startHarness } from '../support/tunnelgate.js';
import { jobsSettled, waitUntil } from '../support/wait.js';
import { startWorkerProcess, type WorkerProcess, writeConfigFile } from '../support/worker-process.js';

const lab = useLab({ hubs: 2, clients: 0 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A redis-server with AOF on a fixed port and directory, so a restart keeps its URL and data. */
async function startAofRedis(dir: string, port: number): Promise<{ stop(): Promise<void> }> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
  args.push('--appendonly', 'yes', '--maxmemory-policy', 'noeviction');
  const child: ChildProcess = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${out}`)), 15_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return {
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

/** Resolves once sshd at address:22 greets with its banner. */
async function sshdUp(address: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: address, port: 22, timeout: 1_000 });
      const done = (up: boolean) => {
        socket.destroy();
        resolve(up);
      };
      socket.once('data', (d) => done(d.toString('latin1').startsWith('SSH-')));
      socket.once('error', () => done(false));
      socket.once('timeout', () => done(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`sshd at ${address} did not come back`);
}

const hubAt = (i: number) => {
  const hub = lab.get().hubs[i];
  if (hub === undefined) throw new Error(`no hub ${i}`);
  return hub;
};
const livePeers = async (i: number) =>
  parseDump((await hubAt(i).exec(['wg', 'show', 'wg0', 'dump'])).stdout).peers;
const fileText = (i: number) => hubAt(i).readFile('/etc/wireguard/wg0.conf');

/** Requests a peer for each user on `hub`; returns the request ids. */
async function requestAll(h: Harness, users: string[], hub: (i: number) => string): Promise<string[]> {
  const pending = await Promise.all(users.map((u, i) => h.run(u, `/vpn request laptop --hub ${hub(i)}`)));
  const ids = pending.map((replies) => replyOf(replies, 'request.pending')?.request.id ?? '');
  expect(new Set(ids).size).toBe(users.length);
  return ids;
}

const provisionedToLeads = (messages: Message[], id: string) =>
  messages.filter(
    (m) => m.reply.kind === 'peer.provisioned' && m.reply.requestId === id && m.to.type === 'leads',
  );

/**
 * Every request is provisioned exactly once: one notice to the leads, one live peer and one
 * config section per request on its hub, distinct addresses, and no public key twice in a file.
 */
async function expectProvisionedOnce(h: Harness, ids: string[]): Promise<void> {
  const requests = await Promise.all(ids.map((id) => h.runtime.bot.requests.get(id)));
  expect(requests.filter((r) => r.state !== 'provisioned').map((r) => `${r.id}:${r.state}`)).toEqual([]);
  for (const id of ids) expect(provisionedToLeads(h.messages, id)).toHaveLength(1);
  for (const [i, name] of [
    [0, 'hub1'],
    [1, 'hub2'],
  ] as const) {
    const mine = requests.filter((r) => r.hub === name);
    if (mine.length === 0) continue;
    const keys = new Set(mine.map((r) => r.publicKey));
    const live = (await livePeers(i)).filter((p) => keys.has(p.publicKey));
    expect(live).toHaveLength(mine.length);
    const addresses = live.flatMap((p) => p.allowedIps);
    expect(new Set(addresses).size).toBe(mine.length);
    const inFile = listPeers(parseWgConf(await fileText(i)));
    const fileKeys = inFile.map((p) => p.publicKey);
    expect(new Set(fileKeys).size).toBe(fileKeys.length);
    expect(inFile.filter((p) => keys.has(p.publicKey))).toHaveLength(mine.length);
  }
}

lab.describe('faults survived', () => {
  it('Redis restarted in the middle of a burst: every request provisioned, none twice on the hub', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-redis-restart-'));
    const port = await freePort();
    let redis = await startAofRedis(dir, port);
    const h = await startHarness(lab.get(), 'redis-restart', { redisUrl: `redis://127.0.0.1:${port}` });
    try {
      const ids = await requestAll(
        h,
        Array.from({ length: 24 }, (_, i) => `burst${i}`),
        () => 'hub1',
      );
      const approving = Promise.all(
        ids.map(async (id, i) => {
          await sleep(i * 40);
          return h.run('alice', `/vpn approve ${id}`);
        }),
      );
      await sleep(350);
      await redis.stop();
      await sleep(700);
      redis = await startAofRedis(dir, port);
      await approving;
      await waitUntil('24 provisioned', 90_000, () =>
        ids.every((id) => provisionedToLeads(h.messages, id).length > 0),
      );
      await sleep(500); // a job run twice would notify again by now
      await expectProvisionedOnce(h, ids);
    } finally {
      await h.stop();
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);

  it('a hub unreachable: its job retries with backoff and then tells requester and approvers; the other hub is not held up', async () => {
    const h = await startHarness(lab.get(), 'unreachable', {
      worker: { lockDuration: '5s', stalledInterval: '2s', attempts: 4, backoff: '1s' },
    });
    const hub1 = hubAt(0);
    const block = ['nft', 'insert', 'rule', 'inet', 'filter', 'input', 'tcp', 'dport', '22'];
    expect((await hub1.exec([...block, 'reject', 'with', 'tcp', 'reset'])).code).toBe(0);
    try {
      const [stuck = ''] = await requestAll(h, ['frank'], () => 'hub1');
      await h.run('alice', `/vpn approve ${stuck}`);
      const queue1 = h.runtime.bot.queues.hubQueue('hub1');
      await waitUntil('a retry of the hub1 job', 20_000, async () => (await queue1.getDelayedCount()) > 0);

      const [other = ''] = await requestAll(h, ['gina'], () => 'hub2');
      await h.run('alice', `/vpn approve ${other}`);
      const done = await h.waitFor((m) => m.reply.kind === 'peer.provisioned' && m.reply.requestId === other);
      const failed = await h.waitFor(
        (m) => m.reply.kind === 'peer.failed' && m.reply.requestId === stuck,
        60_000,
      );
      expect(h.messages.indexOf(done)).toBeLessThan(h.messages.indexOf(failed));

      const toldOf = () =>
        h.messages.filter((m) => m.reply.kind === 'peer.failed' && m.reply.requestId === stuck);
      await waitUntil('the approver told too', 10_000, () => toldOf().length >= 2);
      const told = toldOf();
      expect(told.map((m) => m.to)).toEqual([
        { type: 'user', id: 'frank' },
        { type: 'user', id: 'alice' },
      ]);
      const reply = told[0]?.reply;
      expect(reply?.kind === 'peer.failed' ? reply.error.code : '').toBe('SSH_UNREACHABLE');
      expect(reply === undefined ? '' : renderText(reply)).toMatch(/cannot reach hub "hub1"/);
      expect((await h.runtime.bot.requests.get(stuck)).state).toBe('failed');
      const [job] = await jobsSettled(queue1, 'failed', 1);
      expect(job?.attemptsMade).toBe(4);

      const failures = (final: string) =>
        `tunnelgate_job_failures_total{queue="hub-hub1",kind="provision",hub="hub1",code="SSH_UNREACHABLE",final="${final}"}`;
      // Counted from the worker's `failed` event, which follows the move to the failed set.
      let metrics = '';
      await waitUntil('the final failure counted', 5_000, async () => {
        metrics = await h.runtime.metrics.render();
        return metrics.includes(`${failures('true')} `);
      });
      expect(metrics).toContain(`${failures('false')} 3`);
      expect(metrics).toContain(`${failures('true')} 1`);
    } finally {
      await hub1.exec(['nft', '-f', '-'], {
        input: renderHubRuleset({ operatorAddress: lab.get().operatorAddress }),
      });
      await h.stop();
    }
  });

  it('a hub whose host key changed: every job to it is refused with the fingerprint mismatch, nothing runs', async () => {
    const hub2 = hubAt(1);
    const dir = hub2.host.spec.dir;
    const key = join(dir, 'ssh_host_ed25519_key');
    const restartSshd = async () => {
      const pid = readFileSync(join(dir, 'sshd.pid'), 'utf8').trim();
      process.kill(Number(pid), 'SIGHUP');
      await sleep(300);
      await sshdUp(hub2.labAddress);
    };
    const accepted = () =>
      (readFileSync(join(dir, 'sshd.log'), 'utf8').match(/Accepted publickey/g) ?? []).length;
    copyFileSync(key, `${key}.orig`);
    copyFileSync(`${key}.pub`, `${key}.pub.orig`);
    rmSync(key);
    rmSync(`${key}.pub`);
    const keygen = spawn('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key], { stdio: 'ignore' });
    await new Promise((resolve) => keygen.once('exit', resolve));
    await restartSshd();
    const h = await startHarness(lab.get(), 'host-key');
    try {
      const before = accepted();
      const ids = await requestAll(h, ['hank', 'ivy'], () => 'hub2');
      await Promise.all(ids.map((id) => h.run('alice', `/vpn approve ${id}`)));
      for (const id of ids) {
        const failed = await h.waitFor((m) => m.reply.kind === 'peer.failed' && m.reply.requestId === id);
        const error = failed.reply.kind === 'peer.failed' ? failed.reply.error : undefined;
        expect(error?.code).toBe('HOST_KEY_MISMATCH');
        expect(error?.message).toMatch(
          /host key of hub "hub2" .* changed: expected SHA256:\S+, offered SHA256:\S+/,
        );
      }
      const failedJobs = await jobsSettled(h.runtime.bot.queues.hubQueue('hub2'), 'failed', 2);
      expect(failedJobs.map((j) => j.attemptsMade)).toEqual([1, 1]);
      const keys = new Set(
        (await Promise.all(ids.map((id) => h.runtime.bot.requests.get(id)))).map((r) => r.publicKey),
      );
      expect((await livePeers(1)).filter((p) => keys.has(p.publicKey))).toEqual([]);
      expect(listPeers(parseWgConf(await fileText(1))).filter((p) => keys.has(p.publicKey))).toEqual([]);
      expect(accepted()).toBe(before);
    } finally {
      await h.stop();
      copyFileSync(`${key}.orig`, key);
      copyFileSync(`${key}.pub.orig`, `${key}.pub`);
      await restartSshd();
    }
  });

  it('200 requests approved while 3 worker processes are restarted with SIGTERM in turn: each provisioned exactly once', async () => {
    const h = await startHarness(lab.get(), 'rolling-restart', {
      inProcessWorkers: false,
      // One lead approves 200 requests in a few seconds: far past the default per-user rate limit.
      policy: { commandsPerMinute: 1000 },
    });
    const configPath = writeConfigFile(h.dataDir, h.config);
    const workers: WorkerProcess[] = await Promise.all([1, 2, 3].map(() => startWorkerProcess(configPath)));
    const exitCodes: Array<number | null> = [];
    try {
      const ids = await requestAll(
        h,
        Array.from({ length: 200 }, (_, i) => `roll${i}`),
        (i) => (i % 2 === 0 ? 'hub1' : 'hub2'),
      );
      const approving = Promise.all(ids.map((id) => h.run('alice', `/vpn approve ${id}`)));
      const allDone = () => ids.every((id) => provisionedToLeads(h.messages, id).length > 0);
      // Restart the workers one after another while jobs flow: at least one full round.
      for (let round = 0; round === 0 || !allDone(); round++) {
        for (let i = 0; i < workers.length; i++) {
          await sleep(1_000);
          await workers[i]?.stop('SIGTERM');
          exitCodes.push(workers[i]?.child.exitCode ?? null);
          workers[i] = await startWorkerProcess(configPath);
        }
        if (round > 10) break;
      }
      await approving;
      await waitUntil('200 provisioned', 120_000, allDone);
      await sleep(500);
      expect(exitCodes.length).toBeGreaterThanOrEqual(3);
      expect(exitCodes.every((code) => code === 0)).toBe(true);
      await expectProvisionedOnce(h, ids);
    } finally {
      await Promise.all(workers.map((w) => w.stop('SIGKILL')));
      await h.stop();
    }
  }, 300_000);
});

import type { Job } from 'bullmq';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { slowWgSet } from '../../src/lab/faults.js';
import { listPeers, parseWgConf } from '../../src/wg/conf.js';
import { parseDump } from '../../src/wg/dump.js';
import { findOverlaps } from '../../src/wg/ipam.js';
import { useLab } from '../support/lab.js';
import { type Harness, replyOf, startHarness } from '../support/tunnelgate.js';
import { jobsSettled } from '../support/wait.js';
import { startWorkerProcess, type WorkerProcess, writeConfigFile } from '../support/worker-process.js';

const lab = useLab({ hubs: 1, clients: 0 });

lab.describe('provisioning across worker processes', () => {
  let h: Harness;
  let configPath: string;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    h = await startHarness(lab.get(), 'concurrency', {
      inProcessWorkers: false,
      // One lead approves 50 requests at once: past the default per-user rate limit (30 a minute).
      policy: { commandsPerMinute: 1000 },
    });
    configPath = writeConfigFile(h.dataDir, h.config);
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop('SIGKILL')));
  });
  afterAll(async () => {
    await h?.stop();
  });

  const hub = () => lab.hub();
  const livePeers = async () => parseDump((await hub().exec(['wg', 'show', 'wg0', 'dump'])).stdout).peers;
  const filePeers = async () => listPeers(parseWgConf(await hub().readFile('/etc/wireguard/wg0.conf')));

  it('50 concurrent approved requests through 3 worker processes: 50 peers, 50 distinct addresses, no overlap', async () => {
    workers.push(...(await Promise.all([1, 2, 3].map(() => startWorkerProcess(configPath)))));
    const users = Array.from({ length: 50 }, (_, i) => `user${i}`);
    const pending = await Promise.all(users.map((u) => h.run(u, '/vpn request laptop')));
    const ids = pending.map((replies) => replyOf(replies, 'request.pending')?.request.id ?? '');
    expect(new Set(ids).size).toBe(50);
    await Promise.all(ids.map((id) => h.run('alice', `/vpn approve ${id}`)));

    const provisioned = () =>
      h.messages.filter((m) => m.reply.kind === 'peer.provisioned' && m.to.type === 'leads');
    const deadline = Date.now() + 120_000;
    while (provisioned().length < 50 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect(provisioned()).toHaveLength(50);

    const live = await livePeers();
    expect(live).toHaveLength(50);
    const addresses = live.flatMap((p) => p.allowedIps);
    expect(new Set(addresses).size).toBe(50);
    expect(addresses.every((a) => /^10\.66\.1\.\d+\/32$/.test(a))).toBe(true);
    expect(findOverlaps(live.map((p) => ({ id: p.publicKey, allowedIps: p.allowedIps })))).toEqual([]);
    const inFile = await filePeers();
    expect(inFile).toHaveLength(50);
    expect(new Set(inFile.map((p) => p.meta?.request)).size).toBe(50);
    // One completed provision job per request: none lost, none run twice.
    const provisions = (jobs: Job[]) => jobs.filter((j) => j.name === 'provision');
    const completed = await jobsSettled(
      h.runtime.bot.queues.hubQueue('hub1'),
      'completed',
      (jobs) => provisions(jobs).length >= 50,
    );
    expect(provisions(completed)).toHaveLength(50);
    expect(new Set(provisions(completed).map((j) => (j.data as { requestId?: string }).requestId))).toEqual(
      new Set(ids),
    );
  });

  it('a worker killed with SIGKILL mid-provisioning: the job is retried and the hub ends with exactly one peer', async () => {
    // Make `wg set` on this hub take 4 s, so the kill lands inside the provisioning exec.
    const undoSlow = await slowWgSet(hub(), 4);
    try {
      const first = await startWorkerProcess(configPath);
      workers.push(first);
      const id = replyOf(await h.run('zed', '/vpn request crashpad'), 'request.pending')?.request.id ?? '';
      await h.run('alice', `/vpn approve ${id}`);
      const queue = h.runtime.bot.queues.hubQueue('hub1');
      const deadline = Date.now() + 20_000;
      while ((await queue.getActiveCount()) === 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      expect(await queue.getActiveCount()).toBe(1);
      await new Promise((r) => setTimeout(r, 1_500));
      await first.stop('SIGKILL');
      expect((await h.runtime.bot.requests.get(id)).state).toBe('provisioning');

      workers.push(await startWorkerProcess(configPath));
      await h.waitFor((m) => m.reply.kind === 'peer.provisioned' && m.reply.requestId === id, 60_000);
      const request = await h.runtime.bot.requests.get(id);
      expect(request.state).toBe('provisioned');
      const key = request.publicKey;
      expect((await livePeers()).filter((p) => p.publicKey === key)).toHaveLength(1);
      expect((await filePeers()).filter((p) => p.publicKey === key)).toHaveLength(1);
      const conf = await hub().readFile('/etc/wireguard/wg0.conf');
      expect(conf.split(key).length - 1).toBe(1);
    } finally {
      await undoSlow();
    }
  });
});

import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { slowWgSet, type Undo } from '../../src/lab/faults.js';
import { listPeers, parseWgConf } from '../../src/wg/conf.js';
import { parseDump } from '../../src/wg/dump.js';
import { useLab } from '../support/lab.js';
import { type Harness, replyOf, startHarness } from '../support/tunnelgate.js';
import { jobsSettled } from '../support/wait.js';
import { startWorkerProcess, type WorkerProcess, writeConfigFile } from '../support/worker-process.js';

const lab = useLab({ hubs: 1, clients: 0 });

lab.describe('worker shutdown on SIGTERM', () => {
  let h: Harness;
  let configPath: string;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    // lockDuration 5s: a stopping worker waits up to 2.5 s for its running job.
    h = await startHarness(lab.get(), 'shutdown', { inProcessWorkers: false });
    configPath = writeConfigFile(h.dataDir, h.config);
  });
  let undoSlow: Undo | undefined;
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop('SIGKILL')));
    await undoSlow?.();
  });
  afterAll(async () => {
    await h?.stop();
  });

  const hub = () => lab.hub();
  const livePeers = async () => parseDump((await hub().exec(['wg', 'show', 'wg0', 'dump'])).stdout).peers;
  const filePeers = async () => listPeers(parseWgConf(await hub().readFile('/etc/wireguard/wg0.conf')));

  /** Requests and approves a peer for `user`; resolves once its job is running on the hub. */
  async function approveAndWaitRunning(user: string): Promise<string> {
    const id = replyOf(await h.run(user, '/vpn request laptop'), 'request.pending')?.request.id ?? '';
    await h.run('alice', `/vpn approve ${id}`);
    const deadline = Date.now() + 20_000;
    while ((await h.runtime.bot.requests.get(id)).state !== 'provisioning' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 25));
    expect((await h.runtime.bot.requests.get(id)).state).toBe('provisioning');
    return id;
  }

  it('finishes a job that ends within the bound, then exits 0', async () => {
    undoSlow = await slowWgSet(hub(), 1);
    const worker = await startWorkerProcess(configPath);
    workers.push(worker);
    const id = await approveAndWaitRunning('dora');
    await worker.stop('SIGTERM');
    expect(worker.child.exitCode).toBe(0);
    const request = await h.runtime.bot.requests.get(id);
    expect(request.state).toBe('provisioned');
    expect((await livePeers()).filter((p) => p.publicKey === request.publicKey)).toHaveLength(1);
    expect(worker.stderr()).not.toMatch(/handing them back/);
  });

  it('hands back a job still running at the bound, exits 0, and another worker completes it exactly once', async () => {
    undoSlow = await slowWgSet(hub(), 8);
    const first = await startWorkerProcess(configPath);
    workers.push(first);
    const id = await approveAndWaitRunning('eve');
    await first.stop('SIGTERM');
    expect(first.child.exitCode).toBe(0);
    expect(first.stderr()).toMatch(/handing them back/);
    // It left before its job could finish (the hub's `wg set` sleeps 8 s): handed back, not waited for.
    expect((await h.runtime.bot.requests.get(id)).state).toBe('provisioning');

    await undoSlow();
    workers.push(await startWorkerProcess(configPath));
    await h.waitFor((m) => m.reply.kind === 'peer.provisioned' && m.reply.requestId === id, 60_000);
    const request = await h.runtime.bot.requests.get(id);
    expect(request.state).toBe('provisioned');
    expect((await livePeers()).filter((p) => p.publicKey === request.publicKey)).toHaveLength(1);
    expect((await filePeers()).filter((p) => p.publicKey === request.publicKey)).toHaveLength(1);
    const isOurs = (j: { data: unknown }) => (j.data as { requestId?: string }).requestId === id;
    const completed = await jobsSettled(h.runtime.bot.queues.hubQueue('hub1'), 'completed', (jobs) =>
      jobs.some(isOurs),
    );
    const job = completed.find(isOurs);
    // The hand-back went through the stalled check, not a failed attempt.
    expect(job?.attemptsMade).toBe(1);
    expect(
      h.messages.filter(
        (m) => m.reply.kind === 'peer.provisioned' && m.reply.requestId === id && m.to.type === 'leads',
      ),
    ).toHaveLength(1);
  });
});

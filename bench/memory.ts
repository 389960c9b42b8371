/**
 * Memory: the resident memory of one `tunnelgate worker` process whose inventory holds 10 hubs of
 * 10,000 peers each — real lab hubs filled the fast way, so the worker's jobs read real 10,000-peer
 * dumps and config files — idle, after reconciling all ten hubs at once, and after one list job
 * over all 100,000 peers. On the same inventory it also times the bot's first reply to commands
 * that look up one peer by name or one user's peers, the lookups the inventory index serves.
 */
import { startLab } from '../src/lab/lab.js';
import { TaskJob } from '../src/queue/jobs.js';
import type { BenchEnv, Figure } from './support/figure.js';
import { progress } from './support/figure.js';
import { fillHub } from './support/fill.js';
import { drained } from './support/queues.js';
import { distribution, median, mib, ms } from './support/stats.js';
import { type BenchTunnelgate, startTunnelgate } from './support/tunnelgate.js';
import { type Memory, startWorkerProcess, type WorkerProcess } from './support/worker-process.js';

const HUBS = 10;
const PEERS = 10_000;
const ACK_SAMPLES = 20;

/** Times `line` sent by `user` through the bot front door, one at a time, to its first reply. */
async function ackTimes(tg: BenchTunnelgate, user: string, line: (i: number) => string): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < ACK_SAMPLES; i++) {
    const started = performance.now();
    const replies = await tg.run(user, line(i));
    samples.push(performance.now() - started);
    if (replies[0]?.reply.kind !== 'job.queued') {
      throw new Error(`${line(i)} got ${replies[0]?.reply.kind ?? 'nothing'} instead of job.queued`);
    }
  }
  return samples;
}

export async function benchMemory(env: BenchEnv): Promise<Figure[]> {
  progress(`memory: starting a lab with ${HUBS} hubs`);
  const lab = await startLab({ hubs: HUBS, clients: 0 });
  let worker: WorkerProcess | undefined;
  try {
    const tg = await startTunnelgate({
      name: 'memory',
      redisUrl: env.redisUrl,
      logger: env.logger,
      hubs: lab.hubs,
      inProcessWorkers: false,
      hub: (hub) => ({ subnet: '10.66.0.0/16', address: hub.hubAddress, routes: [hub.subnet] }),
    });
    try {
      const hubs = tg.config.hubs;
      const fillStarted = performance.now();
      for (const [i, hub] of hubs.entries()) {
        const labHub = lab.hubs[i];
        if (labHub === undefined) throw new Error('hub missing');
        await fillHub(labHub, hub, tg.runtime.bot.inventory, PEERS);
      }
      progress(
        `memory: filled ${HUBS} hubs with ${PEERS} peers each in ${ms(performance.now() - fillStarted)}`,
      );

      worker = await startWorkerProcess(tg.writeConfig());
      const hubQueues = hubs.map((h) => tg.runtime.bot.queues.hubQueue(h.name));
      // The worker's scheduled reconcile runs once on every hub at start.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await drained(hubQueues, 300_000);
      const started = worker.memory();

      progress('memory: reconciling all hubs at once');
      const reconcileStarted = performance.now();
      const jobIds = await Promise.all(
        hubs.map((h) =>
          tg.runtime.bot.queues.addHub({ kind: 'reconcile', hub: h.name, by: 'alice', rebuild: false }),
        ),
      );
      for (const [i, jobId] of jobIds.entries()) {
        const hub = hubs[i]?.name;
        const report = await tg.waitFor(
          (m) => m.jobId === jobId && m.reply.kind === 'reconcile.report' && m.reply.hub === hub,
          300_000,
        );
        if (report.message.reply.kind === 'reconcile.report' && !report.message.reply.inSync) {
          throw new Error(`${report.message.reply.hub} is not in sync`);
        }
      }
      const reconcileMs = performance.now() - reconcileStarted;
      const reconciled = worker.memory();

      // Before the list job, whose 100,000-peer reply would keep the bot process busy collecting.
      progress('memory: acks of commands that find peers by name and by owner');
      const byName = await ackTimes(tg, 'carol', (i) => `/vpn status fill${PEERS - 1 - i * 7}-dev`);
      const byOwner = await ackTimes(tg, 'fill42', () => '/vpn list');
      await drained([tg.runtime.bot.queues.tasks], 300_000);
      // For contrast, the lookup the index replaced: parse every record and pick one by name.
      const scans: number[] = [];
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        const all = await tg.runtime.bot.inventory.listAll(hubs.map((h) => h.name));
        if (all.find((r) => r.peer === 'fill42-dev') === undefined) throw new Error('fill42-dev missing');
        scans.push(performance.now() - started);
      }

      progress(`memory: one list job over all ${HUBS * PEERS} peers`);
      let listed: Memory | undefined;
      let listNote: string;
      const listStarted = performance.now();
      try {
        const jobId = await tg.runtime.bot.queues.addTask(
          TaskJob.parse({
            kind: 'peers',
            hubs: hubs.map((h) => h.name),
            to: 'alice',
            scope: 'all',
            reply: 'peer.list',
          }),
        );
        const list = await tg.waitFor((m) => m.jobId === jobId && m.reply.kind === 'peer.list', 300_000);
        const count = list.message.reply.kind === 'peer.list' ? list.message.reply.peers.length : 0;
        listed = worker.memory();
        listNote = `The list job returned ${count} peer views in ${ms(performance.now() - listStarted)}.`;
      } catch (err) {
        listNote = `The list job over all peers did not complete: ${err instanceof Error ? err.message : String(err)}.`;
      }
      const final = listed ?? worker.memory();
      return [
        {
          name: `Memory: worker with ${HUBS} hubs x ${PEERS.toLocaleString('en')} peers`,
          result: `RSS ${mib(started.rssKib)} after start-up, ${mib(reconciled.rssKib)} after reconciling all hubs, ${listed === undefined ? 'list job failed' : `${mib(listed.rssKib)} after listing all peers`}; peak ${mib(final.peakKib)}`,
          goal: '-',
          met: null,
          method: `${HUBS} lab hubs each filled with ${PEERS.toLocaleString('en')} peers (live, wg0.conf sections and matching inventory records in Redis: ${(HUBS * PEERS).toLocaleString('en')} PeerRecords), served by one \`tunnelgate worker\` process; VmRSS/VmHWM read from /proc after it started, after one reconcile job on every hub at once (each reads a 10,000-peer dump and config file and the hub's inventory), and after one \`peers\` list task over all hubs.`,
          notes: [
            `The ten reconciles (in parallel, one per hub queue) took ${ms(reconcileMs)} and all reported in sync.`,
            listNote,
            'The first reading is taken once the worker is idle after start-up, which includes the scheduled reconcile it runs on every hub when it starts.',
          ],
        },
        {
          name: `Ack with ${HUBS} hubs x ${PEERS.toLocaleString('en')} peers: one peer by name, one user's peers`,
          result: `\`/vpn status PEER\` ${distribution(byName)}; \`/vpn list\` ${distribution(byOwner)}`,
          goal: '-',
          met: null,
          method: `On the inventory above (${(HUBS * PEERS).toLocaleString('en')} PeerRecords), ${ACK_SAMPLES} \`/vpn status <peer>\` commands by an on-call user (each peer found by name on every hub) and ${ACK_SAMPLES} \`/vpn list\` commands by a user who owns one peer on each hub, sent one at a time through the bot front door (handleText); each timed to its first reply (job.queued).`,
          notes: [
            `Both read the per-hub inventory index (peer name, request and owner to public key) and then only the records it names. For contrast, finding one peer by parsing all ${(HUBS * PEERS).toLocaleString('en')} records, as every such command did before the index: ${ms(median(scans))} (median of 3).`,
          ],
        },
      ];
    } finally {
      await worker?.stop();
      await tg.stop();
    }
  } finally {
    await lab.stop();
  }
}

/**
 * Throughput: 500 requests approved at once over 4 hubs, served by 4 `tunnelgate worker`
 * processes; peers per second, and no address handed out twice (checked on the hubs themselves).
 */

import { HUB_WG_CONFIG } from '../src/lab/hub.js';
import { listPeers, parseWgConf } from '../src/wg/conf.js';
import { parseDump } from '../src/wg/dump.js';
import { findOverlaps } from '../src/wg/ipam.js';
import type { BenchEnv, Figure } from './support/figure.js';
import { progress } from './support/figure.js';
import { provisioningDone, request } from './support/flow.js';
import { drained } from './support/queues.js';
import { distribution } from './support/stats.js';
import { startTunnelgate } from './support/tunnelgate.js';
import { startWorkerProcess, type WorkerProcess } from './support/worker-process.js';

const REQUESTS = 500;
const WORKERS = 4;
const CREATE_BATCH = 50;

export async function benchThroughput(env: BenchEnv): Promise<Figure[]> {
  const tg = await startTunnelgate({
    name: 'throughput',
    redisUrl: env.redisUrl,
    logger: env.logger,
    hubs: env.hubs,
    inProcessWorkers: false,
  });
  const workers: WorkerProcess[] = [];
  try {
    const hubs = tg.config.hubs;
    const configPath = tg.writeConfig();
    workers.push(
      ...(await Promise.all(Array.from({ length: WORKERS }, () => startWorkerProcess(configPath)))),
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await drained(hubs.map((h) => tg.runtime.bot.queues.hubQueue(h.name)));

    progress(`throughput: creating ${REQUESTS} requests over ${hubs.length} hubs`);
    const ids: string[] = [];
    for (let start = 0; start < REQUESTS; start += CREATE_BATCH) {
      const batch = Array.from({ length: Math.min(CREATE_BATCH, REQUESTS - start) }, (_, k) => start + k);
      ids.push(
        ...(await Promise.all(
          batch.map((i) => request(tg, `tp${i}`, 'laptop', hubs[i % hubs.length]?.name ?? '')),
        )),
      );
    }

    progress(`throughput: approving ${REQUESTS} at once`);
    const started = performance.now();
    const approved = await Promise.all(
      ids.map(async (id) => {
        const at = performance.now();
        const [reply] = await tg.run('alice', `/vpn approve ${id}`);
        if (reply?.reply.kind !== 'request.approved') throw new Error(`approve ${id}: ${reply?.reply.kind}`);
        return at;
      }),
    );
    const latencies: number[] = [];
    let last = started;
    for (const [i, id] of ids.entries()) {
      const arrival = await tg.waitFor((m) => provisioningDone(m, id), 300_000);
      if (arrival.message.reply.kind !== 'peer.provisioned') {
        throw new Error(`provisioning ${id} failed: ${JSON.stringify(arrival.message.reply).slice(0, 300)}`);
      }
      latencies.push(arrival.at - (approved[i] ?? started));
      last = Math.max(last, arrival.at);
    }
    const seconds = (last - started) / 1000;

    let live = 0;
    let duplicates = 0;
    const perHub: string[] = [];
    for (const [i, hub] of env.hubs.entries()) {
      const peers = parseDump((await hub.exec(['wg', 'show', 'wg0', 'dump'])).stdout).peers;
      const inFile = listPeers(parseWgConf(await hub.readFile(HUB_WG_CONFIG)));
      const addresses = peers.flatMap((p) => p.allowedIps);
      duplicates += addresses.length - new Set(addresses).size;
      duplicates += findOverlaps(peers.map((p) => ({ id: p.publicKey, allowedIps: p.allowedIps }))).length;
      live += peers.length;
      const want = ids.filter((_, k) => k % env.hubs.length === i).length;
      if (peers.length !== want || inFile.length !== want) {
        throw new Error(`${hub.name}: expected ${want} peers, live ${peers.length}, file ${inFile.length}`);
      }
      perHub.push(`${hub.name} ${peers.length}`);
    }
    // Is a hub busy all the time, or waiting between jobs? From BullMQ's own job timestamps.
    const jobMs: number[] = [];
    let busyMs = 0;
    for (const hub of hubs) {
      const completed = await tg.runtime.bot.queues.hubQueue(hub.name).getCompleted(0, REQUESTS);
      for (const job of completed.filter((j) => j.name === 'provision')) {
        const took = (job.finishedOn ?? 0) - (job.processedOn ?? 0);
        jobMs.push(took);
        busyMs += took;
      }
    }
    const utilisation = busyMs / (hubs.length * (last - started));
    return [
      {
        name: `Throughput: ${REQUESTS} approvals, ${hubs.length} hubs, ${WORKERS} worker processes`,
        result: `${(REQUESTS / seconds).toFixed(1)} peers/s (${seconds.toFixed(1)} s); ${live} peers live, ${duplicates} duplicate or overlapping addresses`,
        goal: '0 duplicates',
        met: duplicates === 0 && live === REQUESTS,
        method: `${REQUESTS} pending requests spread evenly over ${hubs.length} lab hubs, all approved at once through the bot; timed from the first approve call to the arrival of the last peer.provisioned. Afterwards every hub's live dump was checked for duplicate or overlapping AllowedIPs and its peer count (live and in wg0.conf).`,
        notes: [
          `Per hub: ${perHub.join(', ')}. Approve -> provisioned under this load: ${distribution(latencies)}.`,
          `Provision job run time (BullMQ processedOn -> finishedOn): ${distribution(jobMs)}; the hub queues were busy ${Math.round(utilisation * 100)}% of the wall time.`,
        ],
      },
    ];
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await tg.stop();
  }
}

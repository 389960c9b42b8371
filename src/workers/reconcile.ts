/**
 * Reconcile: compares a hub's live peers and its config file (the durable record) with the
 * inventory and reports drift — unknown peers, peers missing live or from the file, overlapping
 * AllowedIPs. Peers that the file describes (our `# tunnelgate:` comment) but the inventory lacks
 * are restored into it, which is how a wiped Redis is rebuilt from the hubs.
 */

import { UserId } from '../core/ids.js';
import { hubConfig } from '../domain/hubs.js';
import type { DriftFinding, Recipient } from '../domain/models/reply.js';
import { dumpStep, readConfStep } from '../hub/programs/peers.js';
import { runScript } from '../hub/ssh/remote-script.js';
import type { HubJob } from '../queue/jobs.js';
import { listPeers, parseWgConf } from '../wg/conf.js';
import { parseDump } from '../wg/dump.js';
import { findOverlaps } from '../wg/ipam.js';
import type { WorkerContext } from './context.js';

type ReconcileJob = Extract<HubJob, { kind: 'reconcile' }>;

/** Reconciles one hub; returns the findings (also sent to leads, or to `by` when a user asked). */
export async function reconcile(
  ctx: WorkerContext,
  job: ReconcileJob,
  jobId?: string,
): Promise<DriftFinding[]> {
  const hub = hubConfig(ctx.config, job.hub);
  const results = await runScript(ctx.pool.get(hub.name), [dumpStep(hub), readConfStep(hub)]);
  const dump = parseDump(results.dump?.stdout ?? '');
  const filePeers = listPeers(parseWgConf(results.conf?.stdout ?? ''));
  const inventory = await ctx.inventory.list(hub.name);

  const live = new Map(dump.peers.map((p) => [p.publicKey as string, p]));
  const inFile = new Map(filePeers.map((p) => [p.publicKey as string, p]));
  const known = new Map(inventory.map((r) => [r.publicKey as string, r]));
  const findings: DriftFinding[] = [];

  for (const [key, peer] of live) {
    if (!inFile.has(key) && !known.has(key)) {
      findings.push({
        type: 'unknown-peer',
        publicKey: key,
        detail: `live peer with AllowedIPs ${peer.allowedIps.join(',') || '(none)'} is in neither the config file nor the inventory`,
      });
    }
  }
  for (const [key, peer] of inFile) {
    const name = peer.meta?.peer;
    if (!live.has(key)) {
      findings.push({
        type: 'missing-live',
        publicKey: key,
        ...(name === undefined ? {} : { peer: name }),
        detail: 'in the config file but not on the live interface (it returns at the next wg-quick up)',
      });
    }
    if (!known.has(key) && peer.meta !== null && peer.meta !== undefined) {
      const meta = peer.meta;
      const [address, address6] = [
        peer.allowedIps.find((ip) => !ip.includes(':')),
        peer.allowedIps.find((ip) => ip.includes(':')),
      ];
      if (address === undefined) continue;
      await ctx.inventory.claimExact(hub.name, address, key);
      if (address6 !== undefined) await ctx.inventory.claimExact(hub.name, address6, key);
      await ctx.inventory.put({
        peer: meta.peer,
        owner: meta.owner,
        device: meta.device,
        hub: hub.name,
        publicKey: peer.publicKey,
        address,
        ...(address6 === undefined ? {} : { address6 }),
        mode: meta.mode,
        requestId: meta.request,
        createdAt: meta.created,
        expiresAt: meta.expires,
      });
      findings.push({
        type: 'restored',
        publicKey: key,
        peer: meta.peer,
        detail: 'restored into the inventory from the config file',
      });
    }
  }
  for (const [key, record] of known) {
    if (!inFile.has(key)) {
      findings.push({
        type: 'missing-file',
        publicKey: key,
        peer: record.peer,
        detail: `in the inventory but not in ${hub.configPath}${live.has(key) ? ' (still live: lost at the next restart)' : ' nor live'}`,
      });
    }
  }
  for (const overlap of findOverlaps(
    dump.peers.map((p) => ({ id: p.publicKey, allowedIps: p.allowedIps })),
  )) {
    findings.push({
      type: 'overlap',
      publicKey: overlap.a,
      detail: `AllowedIPs ${overlap.cidrA} of ${overlap.a} overlaps ${overlap.cidrB} of ${overlap.b}: one client can knock the other offline`,
    });
  }

  const drift = findings.filter((f) => f.type !== 'restored');
  await ctx.audit.append({
    at: ctx.clock().toISOString(),
    actor: job.by,
    action: 'reconcile',
    hub: hub.name,
    result: drift.length === 0 ? 'ok' : 'drift',
    detail: `${findings.length} findings`,
  });
  const asker = UserId.safeParse(job.by);
  const to: Recipient =
    job.by !== 'scheduler' && asker.success ? { type: 'user', id: asker.data } : { type: 'leads' };
  if (job.by !== 'scheduler' || findings.length > 0) {
    await ctx.notify(
      [
        {
          to,
          private: false,
          reply: { kind: 'reconcile.report', hub: hub.name, inSync: drift.length === 0, findings },
          jobId,
          final: true,
        },
      ],
      jobId,
    );
  }
  return findings;
}

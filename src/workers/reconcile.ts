/**
 * Reconcile: compares a hub's live peers and its config file (the durable record) with the
 * inventory and reports, per hub: in sync; managed peers missing live or from the file; foreign
 * peers (made by hand or another tool), with their AllowedIPs, endpoint and latest handshake; and
 * overlapping AllowedIPs between any two peers, naming both holders. Foreign addresses and routes
 * are reserved (store/reservations.ts) so no allocation offers them, and a foreign peer removed
 * by hand frees its reservations here. Peers that the file describes (our `# tunnelgate:`
 * comment) but the inventory lacks are restored into it, which is how a wiped Redis is rebuilt.
 */

import { type HubName, UserId } from '../core/ids.js';
import { hubConfig } from '../domain/hubs.js';
import type { DriftFinding, Recipient } from '../domain/models/reply.js';
import { dumpStep, readConfStep } from '../hub/programs/peers.js';
import { runScript } from '../hub/ssh/remote-script.js';
import type { HubJob } from '../queue/jobs.js';
import { saveDrift } from '../store/drift.js';
import { normalizeCidr, release, reserve, reservedOn } from '../store/reservations.js';
import { type ConfPeer, listPeers, parseWgConf } from '../wg/conf.js';
import { parseDump } from '../wg/dump.js';
import { placeOf, type SurveyPeer, shortKey, surveyHub } from '../wg/survey.js';
import type { WorkerContext } from './context.js';

type ReconcileJob = Extract<HubJob, { kind: 'reconcile' }>;

/** Reconciles one hub; returns the findings (also sent to leads, or to `by` when a user asked). */
export async function reconcile(
  ctx: WorkerContext,
  job: ReconcileJob,
  jobId?: string,
): Promise<DriftFinding[]> {
  const hub = hubConfig(ctx.config, job.hub);
  const now = ctx.clock();
  const results = await runScript(ctx.pool.get(hub.name), [dumpStep(hub), readConfStep(hub)]);
  const dump = parseDump(results.dump?.stdout ?? '');
  const filePeers = listPeers(parseWgConf(results.conf?.stdout ?? ''));
  const inventory = await ctx.inventory.list(hub.name);
  const findings: DriftFinding[] = [];

  for (const peer of filePeers) {
    if (peer.meta === null || inventory.some((r) => r.publicKey === peer.publicKey)) continue;
    if (await restoreFromFile(ctx, hub.name, peer)) {
      findings.push({
        type: 'restored',
        publicKey: peer.publicKey,
        peer: peer.meta.peer,
        detail: 'restored into the inventory from the config file',
      });
    }
  }
  const known = new Map((await ctx.inventory.list(hub.name)).map((r) => [r.publicKey as string, r]));
  const survey = surveyHub(
    dump.peers,
    filePeers,
    new Map([...known].map(([key, record]) => [key, record.peer])),
  );
  const foreign = survey.peers.filter((p) => !p.managed);

  for (const peer of survey.peers) {
    if (!peer.managed) {
      findings.push(foreignFinding(peer));
    } else if (peer.inFile && !peer.live) {
      findings.push({
        type: 'missing-live',
        publicKey: peer.publicKey,
        ...(peer.metaPeer === undefined ? {} : { peer: peer.metaPeer }),
        detail: 'in the config file but not on the live interface (it returns at the next wg-quick up)',
      });
    }
  }
  for (const [key, record] of known) {
    const onHub = survey.peers.find((p) => p.publicKey === key);
    if (onHub?.inFile === true) continue;
    findings.push({
      type: 'missing-file',
      publicKey: key,
      peer: record.peer,
      detail: `in the inventory but not in ${hub.configPath}${onHub?.live === true ? ' (still live: lost at the next restart)' : ' nor live'}`,
    });
  }
  for (const overlap of survey.overlaps) {
    findings.push({
      type: 'overlap',
      publicKey: overlap.a,
      detail: `AllowedIPs ${overlap.cidrA} of ${overlap.a} overlaps ${overlap.cidrB} of ${overlap.b}: one client can knock the other offline`,
      overlap,
    });
  }
  await syncReservations(ctx, hub.name, foreign);
  await saveDrift(ctx.redis, ctx.keys, {
    hub: hub.name,
    at: now.toISOString(),
    foreign: foreign.map((p) => shortKey(p.publicKey)),
    overlaps: survey.overlaps.map((o) => `${o.cidrA} of ${o.a} overlaps ${o.cidrB} of ${o.b}`),
  });

  const drift = findings.filter((f) => f.type !== 'restored');
  await ctx.audit.append({
    at: now.toISOString(),
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

function foreignFinding(peer: SurveyPeer): DriftFinding {
  const where = placeOf(peer);
  const handshake =
    peer.latestHandshake === null ? null : new Date(peer.latestHandshake * 1000).toISOString();
  const seen = { live: 'live only', file: 'in the config file only', both: 'live and in the config file' };
  return {
    type: 'foreign',
    publicKey: peer.publicKey,
    detail: `not made by Tunnelgate (${seen[where]}): AllowedIPs ${peer.allowedIps.join(', ') || '(none)'}, endpoint ${peer.endpoint ?? '(none)'}, latest handshake ${handshake ?? 'never'}; its addresses are reserved (/vpn adopt puts it under management)`,
    foreign: {
      shortKey: shortKey(peer.publicKey),
      allowedIps: peer.allowedIps,
      endpoint: peer.endpoint,
      latestHandshake: handshake,
      where,
    },
  };
}

/** Restores a peer the file describes into the inventory; false when it has no IPv4 address. */
export async function restoreFromFile(ctx: WorkerContext, hub: HubName, peer: ConfPeer): Promise<boolean> {
  const meta = peer.meta;
  const address = peer.allowedIps.find((ip) => !ip.includes(':') && ip.endsWith('/32'));
  const address6 = peer.allowedIps.find((ip) => ip.includes(':') && ip.endsWith('/128'));
  if (meta === null || address === undefined) return false;
  const routes = peer.allowedIps.filter((ip) => ip !== address && ip !== address6);
  await ctx.inventory.claimExact(hub, address, peer.publicKey);
  if (address6 !== undefined) await ctx.inventory.claimExact(hub, address6, peer.publicKey);
  await ctx.inventory.put({
    peer: meta.peer,
    owner: meta.owner,
    device: meta.device,
    hub,
    publicKey: peer.publicKey,
    address,
    ...(address6 === undefined ? {} : { address6 }),
    ...(routes.length === 0 ? {} : { routes }),
    mode: meta.mode,
    requestId: meta.request,
    createdAt: meta.created,
    expiresAt: meta.expires,
  });
  return true;
}

/**
 * Reserves every address and route a foreign peer holds (live or in the file) and releases the
 * reservations no foreign peer holds any more: removed by hand, changed, or adopted.
 */
async function syncReservations(ctx: WorkerContext, hub: string, foreign: readonly SurveyPeer[]) {
  const wanted = new Map<string, string>();
  for (const peer of foreign) {
    for (const cidr of [...peer.allowedIps, ...(peer.fileAllowedIps ?? [])]) {
      wanted.set(normalizeCidr(cidr), peer.publicKey);
    }
  }
  for (const held of await reservedOn(ctx.redis, ctx.keys, hub)) {
    if (wanted.get(held.cidr) !== held.holder) await release(ctx.redis, ctx.keys, hub, held.cidr);
  }
  for (const [cidr, holder] of wanted) await reserve(ctx.redis, ctx.keys, hub, cidr, holder);
}

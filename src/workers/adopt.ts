/**
 * The adopt job: puts foreign peers (made by hand or another tool) under management, all of a
 * job's entries or none. One exec reads the hub (live dump and config file); the plan is checked
 * against that (adopt-plan.ts); then one exec adds the `# tunnelgate:` comment to each peer's
 * section (`tunnelgate-adopt`: every other byte of the file kept), or appends a section for a
 * live-only peer, and verifies. Redis follows only then (request records, inventory), so a failed
 * exec leaves nothing behind, and a failure after it leaves the file's comment, from which the
 * next reconcile (or adopt) restores the inventory.
 */
import { TunnelgateError } from '../core/errors.js';
import { type HubName, newId, RequestId } from '../core/ids.js';
import { adoptedRequest } from '../domain/adoption.js';
import { errorReply } from '../domain/error-reply.js';
import { hubConfig } from '../domain/hubs.js';
import type { AdoptedPeer, Message } from '../domain/models/reply.js';
import { isLead } from '../domain/roles.js';
import { adoptStep } from '../hub/programs/adopt.js';
import { checkStep, dumpStep, parsePeerCheck, persistStep, readConfStep } from '../hub/programs/peers.js';
import type { Step } from '../hub/ssh/remote-script.js';
import { runScript } from '../hub/ssh/remote-script.js';
import type { HubJob } from '../queue/jobs.js';
import { loadDrift, saveDrift } from '../store/drift.js';
import { releaseHolder } from '../store/reservations.js';
import { listPeers, parseWgConf, renderPeerSection } from '../wg/conf.js';
import { parseDump } from '../wg/dump.js';
import { PublicKey } from '../wg/keys.js';
import { formatPeerMetaLine, type PeerMeta } from '../wg/peer-meta.js';
import { shortKey, surveyHub } from '../wg/survey.js';
import { type AdoptPlan, planAdoption } from './adopt-plan.js';
import type { WorkerContext } from './context.js';
import { restoreFromFile } from './reconcile.js';

type AdoptJob = Extract<HubJob, { kind: 'adopt' }>;

const ACTIVE = ['pending', 'approved', 'provisioning', 'provisioned', 'failed'] as const;

/** Adopts the job's peers (or, dry, reports what it would); returns what was (or would be) adopted. */
export async function adopt(ctx: WorkerContext, job: AdoptJob, jobId?: string): Promise<AdoptedPeer[]> {
  if (!isLead({ id: job.by, platformRoles: job.byRoles }, ctx.config.roles)) {
    throw new TunnelgateError('FORBIDDEN', `refused to adopt peers on ${job.hub}: ${job.by} is not a lead`);
  }
  const hub = hubConfig(ctx.config, job.hub);
  const read = await runScript(ctx.pool.get(hub.name), [dumpStep(hub), readConfStep(hub)]);
  const dump = parseDump(read.dump?.stdout ?? '');
  const filePeers = listPeers(parseWgConf(read.conf?.stdout ?? ''));
  const managed = new Map(
    (await ctx.inventory.list(hub.name)).map((r) => [r.publicKey as string, r.peer as string]),
  );
  // A section with our comment but no record (an earlier attempt that wrote the hub and then
  // failed, or a wiped Redis): restored first, as reconcile would, so it counts as managed.
  for (const peer of filePeers) {
    if (peer.meta === null || managed.has(peer.publicKey)) continue;
    if (await restoreFromFile(ctx, hub.name, peer)) managed.set(peer.publicKey, peer.meta.peer);
  }
  const survey = surveyHub(dump.peers, filePeers, managed);
  const plans = planAdoption({ hub, survey, managed, takenNames: await takenNames(ctx, job) }, job.entries);
  const peers = plans.map(({ peer, owner, publicKey, address, allowedIps, where }) => ({
    peer,
    owner,
    publicKey,
    address,
    allowedIps,
    where,
  }));
  if (!job.dryRun) await apply(ctx, job, plans);
  await ctx.notify(
    [
      {
        to: { type: 'user', id: job.by },
        private: true,
        reply: { kind: 'adopt.report', hub: hub.name, dryRun: job.dryRun, peers },
        jobId,
        final: true,
      },
    ],
    jobId,
  );
  return peers;
}

/** Names the entries would take that a peer (any hub) or an active request already has. */
async function takenNames(ctx: WorkerContext, job: AdoptJob): Promise<Set<string>> {
  const hubs = ctx.config.hubs.map((h) => h.name);
  const taken = new Set<string>();
  for (const entry of job.entries) {
    const name = `${entry.owner}-${entry.device}`.toLowerCase();
    const [record, requests] = await Promise.all([
      ctx.inventory.findByName(hubs, name),
      ctx.requests.list({ states: ACTIVE, peer: name }),
    ]);
    if (record !== null || requests.some((r) => r.peer === name)) taken.add(name);
  }
  return taken;
}

/** Records, writes and verifies every planned adoption, then the inventory and the audit log. */
async function apply(ctx: WorkerContext, job: AdoptJob, plans: readonly AdoptPlan[]): Promise<void> {
  const hub = hubConfig(ctx.config, job.hub);
  const now = ctx.clock();
  const lead = { id: job.by, platformRoles: job.byRoles };
  const records = plans.map((plan) => {
    const request = adoptedRequest(
      {
        id: RequestId.parse(newId('r')),
        owner: plan.owner,
        device: plan.entry.device,
        peer: plan.peer,
        hub: hub.name as HubName,
        publicKey: PublicKey.parse(plan.publicKey),
        address: plan.address,
        ...(plan.address6 === undefined ? {} : { address6: plan.address6 }),
      },
      { lead, roles: ctx.config.roles, signer: ctx.signer, now },
    );
    const meta: PeerMeta = {
      peer: request.peer,
      owner: request.requester,
      device: request.device,
      request: request.id,
      created: now.toISOString(),
      expires: null,
      mode: request.mode,
    };
    return { plan, request, meta };
  });
  const steps: Step[] = records.flatMap(({ plan, meta }, i): Step[] => {
    const write = plan.found.inFile
      ? adoptStep(`adopt-${i}`, hub, plan.publicKey, formatPeerMetaLine(meta))
      : persistStep(
          `adopt-${i}`,
          hub,
          plan.publicKey,
          renderPeerSection({ publicKey: plan.publicKey, allowedIps: plan.allowedIps, meta }),
        );
    return [write, { ...checkStep(hub, plan.publicKey), name: `check-${i}` }];
  });
  const results = await runScript(ctx.pool.get(hub.name), steps);
  records.forEach(({ plan }, i) => {
    const outcome = results[`adopt-${i}`]?.stdout.trim();
    const check = parsePeerCheck(results[`check-${i}`]?.stdout ?? '');
    if (!['adopted', 'unchanged', 'appended', 'present'].includes(outcome ?? '') || !check.inFile) {
      throw new TunnelgateError(
        'HUB_COMMAND_FAILED',
        `adopting ${plan.peer} on hub ${hub.name} did not take: the hub answered ${outcome || 'nothing'}${check.inFile ? '' : ' and the peer is not in its config file'}`,
        { hub: hub.name },
      );
    }
  });

  // Only now the request records: a retry after a failed exec must not find the names taken.
  for (const { request } of records) await ctx.requests.create(request);
  await forgetDrift(ctx, hub.name, plans);
  for (const { plan, request } of records) {
    await releaseHolder(ctx.redis, ctx.keys, hub.name, plan.publicKey);
    for (const address of [plan.address, plan.address6]) {
      if (address !== undefined && !(await ctx.inventory.claimExact(hub.name, address, plan.publicKey))) {
        ctx.logger.warn(
          { hub: hub.name, peer: plan.peer, address },
          'the adopted address is claimed by another key',
        );
      }
    }
    await ctx.inventory.put({
      peer: request.peer,
      owner: request.requester,
      device: request.device,
      hub: request.hub,
      publicKey: request.publicKey,
      address: plan.address,
      ...(plan.address6 === undefined ? {} : { address6: plan.address6 }),
      ...(plan.routes.length === 0 ? {} : { routes: plan.routes }),
      mode: request.mode,
      requestId: request.id,
      // The key's real age is unknown: it counts from now, so rotation is due after policy.keyMaxAge.
      createdAt: now.toISOString(),
      expiresAt: null,
    });
    await ctx.audit.append({
      at: now.toISOString(),
      actor: job.by,
      action: 'adopt',
      hub: hub.name,
      target: request.peer,
      result: 'ok',
      detail: `${request.id} ${plan.publicKey} ${plan.allowedIps.join(',')} owner ${request.requester}`,
    });
  }
}

/**
 * Drops the adopted peers from the hub's drift summary, so the next preview does not warn about
 * them before the next reconcile (an adopted peer overlaps nothing: the plan refused that).
 */
async function forgetDrift(ctx: WorkerContext, hub: string, plans: readonly AdoptPlan[]): Promise<void> {
  const drift = await loadDrift(ctx.redis, ctx.keys, hub);
  if (drift === null) return;
  const adopted = new Set(plans.map((p) => shortKey(p.publicKey)));
  await saveDrift(ctx.redis, ctx.keys, { ...drift, foreign: drift.foreign.filter((k) => !adopted.has(k)) });
}

/** Tells the lead who asked why the adoption failed (nothing was adopted). */
export async function adoptFailed(
  ctx: WorkerContext,
  job: AdoptJob,
  error: TunnelgateError,
  jobId?: string,
): Promise<void> {
  await ctx.audit.append({
    at: ctx.clock().toISOString(),
    actor: job.by,
    action: 'adopt',
    hub: job.hub,
    result: 'failed',
    detail: error.code,
  });
  const message: Message = {
    to: { type: 'user', id: job.by },
    private: true,
    reply: errorReply(error),
    jobId,
    final: true,
  };
  await ctx.notify([message], jobId);
}

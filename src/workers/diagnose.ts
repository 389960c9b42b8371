/**
 * The diagnose task: reads one hub in ONE remote script (every read, plus a ping and a
 * don't-fragment probe toward the peer), runs the playbook over it, stores the fixable findings
 * for `/vpn fix`, and sends the report to whoever asked. Read-only: nothing it runs changes the hub.
 */

import { TunnelgateError } from '../core/errors.js';
import { PeerName } from '../core/ids.js';
import { hubConfig } from '../domain/hubs.js';
import type { DiagnoseReport, DiagnosisView, Finding } from '../domain/models/diagnosis.js';
import { parseFacts, type ReadPlan, readSteps } from '../hub/facts/facts.js';
import { runScript } from '../hub/ssh/remote-script.js';
import type { TaskJob } from '../queue/jobs.js';
import { knownPeers } from '../runbooks/known-peers.js';
import { type PlaybookTarget, runPlaybook } from '../runbooks/playbook.js';
import { FindingStore } from '../store/findings.js';
import type { WorkerContext } from './context.js';
import { deliverReport } from './report-delivery.js';

type DiagnoseJob = Extract<TaskJob, { kind: 'diagnose' }>;

/** At most this many peers are pinged in a hub-wide diagnosis (each silent one costs 1 s). */
const MAX_PINGS = 3;

/** A diagnosis: the report as `view` may see it, and the fixable findings with full evidence. */
export interface Diagnosis {
  report: DiagnoseReport;
  /** What `/vpn fix` stores: the leads who approve a fix see every line, whoever diagnosed. */
  fixable: Finding[];
}

/**
 * Builds the diagnosis (no delivery), with the evidence `view` may see in the report. Throws
 * NOT_FOUND for an unknown peer, SSH_* errors.
 */
export async function buildDiagnosis(
  ctx: WorkerContext,
  hubName: string,
  peer: string | undefined,
  view: DiagnosisView,
): Promise<Diagnosis> {
  const hub = hubConfig(ctx.config, hubName);
  const known = knownPeers(await ctx.inventory.list(hub.name));
  let target: PlaybookTarget = { type: 'hub' };
  if (peer !== undefined) {
    const found = known.find((k) => k.peer === peer);
    if (found === undefined)
      throw new TunnelgateError('NOT_FOUND', `there is no peer ${peer} on ${hub.name}`);
    target = { type: 'peer', peer: found, view };
  }
  const probe = target.type === 'peer' ? [target.peer] : known.slice(0, MAX_PINGS);
  const plan: ReadPlan = {
    ping: probe.map((k) => ({ publicKey: k.publicKey, address: k.address.split('/')[0] ?? k.address })),
    pmtuPeer: target.type === 'peer' ? target.peer.publicKey : null,
  };
  const now = ctx.clock();
  const results = await runScript(ctx.pool.get(hub.name), readSteps(hub, plan));
  const facts = parseFacts(hub, plan, results, Math.floor(now.getTime() / 1000));
  const steps = runPlaybook(facts, target, known);
  const full =
    target.type === 'peer' && target.view !== 'full'
      ? runPlaybook(facts, { ...target, view: 'full' }, known)
      : steps;
  return {
    report: {
      hub: hub.name,
      target:
        target.type === 'hub' ? { type: 'hub' } : { type: 'peer', peer: PeerName.parse(target.peer.peer) },
      at: now.toISOString(),
      steps,
    },
    fixable: full.flatMap((s) => s.findings).filter((f) => f.action !== undefined),
  };
}

/** Runs a diagnose job and delivers the report (or the error) as the job's final message. */
export async function diagnose(
  ctx: WorkerContext,
  job: DiagnoseJob,
  jobId?: string,
): Promise<DiagnoseReport | null> {
  return deliverReport(ctx, { hub: job.hub, to: job.to, what: 'diagnose' }, jobId, async () => {
    const { report, fixable } = await buildDiagnosis(
      ctx,
      job.hub,
      job.peer,
      job.peer === undefined ? 'full' : job.view,
    );
    await new FindingStore(ctx.redis, ctx.keys).saveFixable(
      job.hub,
      'diagnose',
      fixable,
      ctx.clock(),
      job.peer,
    );
    return { report, reply: { kind: 'diagnose.report', report } };
  });
}

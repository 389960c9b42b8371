/**
 * The audit task: the same one-script read as diagnose, without active probes (plus, on a
 * least-privilege hub, the digests of its installed programs), judged by the hardening checks in
 * runbooks/hardening.ts. Fixable findings are stored for `/vpn fix`.
 */

import type { HubConfig } from '../config/schema.js';
import { hubConfig } from '../domain/hubs.js';
import type { AuditReport } from '../domain/models/diagnosis.js';
import { parseFacts, type ReadPlan, readSteps } from '../hub/facts/facts.js';
import { hubPrograms } from '../hub/programs/catalog.js';
import { programFileDigests } from '../hub/programs/program-file.js';
import { runScript } from '../hub/ssh/remote-script.js';
import type { TaskJob } from '../queue/jobs.js';
import { runAudit } from '../runbooks/hardening.js';
import { knownPeers } from '../runbooks/known-peers.js';
import { FindingStore } from '../store/findings.js';
import type { WorkerContext } from './context.js';
import { deliverReport } from './report-delivery.js';

type AuditJob = Extract<TaskJob, { kind: 'audit' }>;

/** Passive reads only; on a least-privilege hub also the digests of its installed programs. */
function auditPlan(hub: HubConfig): ReadPlan {
  return {
    ping: [],
    pmtuPeer: null,
    passiveOnly: true,
    ...(hub.sudo ? { programs: programFileDigests(hub, hubPrograms()) } : {}),
  };
}

/** Builds the audit report (no delivery). Throws SSH_* errors when the hub cannot be read. */
export async function buildAudit(ctx: WorkerContext, hubName: string): Promise<AuditReport> {
  const hub = hubConfig(ctx.config, hubName);
  const known = knownPeers(await ctx.inventory.list(hub.name));
  const now = ctx.clock();
  const plan = auditPlan(hub);
  const results = await runScript(ctx.pool.get(hub.name), readSteps(hub, plan));
  const facts = parseFacts(hub, plan, results, Math.floor(now.getTime() / 1000));
  return runAudit(facts, known, now.toISOString());
}

/** Runs an audit job and delivers the report (or the error) as the job's final message. */
export async function audit(ctx: WorkerContext, job: AuditJob, jobId?: string): Promise<AuditReport | null> {
  return deliverReport(ctx, { hub: job.hub, to: job.to, what: 'audit' }, jobId, async () => {
    const report = await buildAudit(ctx, job.hub);
    await new FindingStore(ctx.redis, ctx.keys).saveFixable(job.hub, 'audit', report.findings, ctx.clock());
    return { report, reply: { kind: 'audit.report', report } };
  });
}

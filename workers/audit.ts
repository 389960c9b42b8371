/**
 * The audit task: the same one-script read as diagnose, without active probes, judged by the
 * hardening checks in runbooks/hardening.ts. Fixable findings are stored for `/vpn fix`.
 */
import type { AuditReport } from '../bot/model/diagnosis.js';
import { FindingStore } from '../bot/store/findings.js';
import { parseFacts, type ReadPlan, readSteps } from '../runbooks/facts.js';
import { runAudit } from '../runbooks/hardening.js';
import { knownPeers } from '../runbooks/known-peers.js';
import { hubConfig, type WorkerContext } from './context.js';
import type { TaskJob } from './jobs.js';
import { deliverReport } from './report-delivery.js';
import { runScript } from './ssh/remote-script.js';

type AuditJob = Extract<TaskJob, { kind: 'audit' }>;

const PLAN: ReadPlan = { ping: [], pmtuPeer: null, passiveOnly: true };

/** Builds the audit report (no delivery). Throws SSH_* errors when the hub cannot be read. */
export async function buildAudit(ctx: WorkerContext, hubName: string): Promise<AuditReport> {
  const hub = hubConfig(ctx.config, hubName);
  const known = knownPeers(await ctx.inventory.list(hub.name));
  const now = ctx.clock();
  const results = await runScript(ctx.pool.get(hub.name), readSteps(hub, PLAN));
  const facts = parseFacts(hub, PLAN, results, Math.floor(now.getTime() / 1000));
  return runAudit(facts, known, now.toISOString());
}

/** Runs an audit job and delivers the report (or the error) as the job's final message. */
export async function audit(ctx: WorkerContext, job: AuditJob, jobId?: string): Promise<AuditReport | null> {
  return deliverReport(ctx, { hub: job.hub, to: job.to, what: 'audit' }, jobId, async () => {
    const report = await buildAudit(ctx, job.hub);
    await new FindingStore(ctx.redis, ctx.config.redis.prefix).saveFixable(
      job.hub,
      'audit',
      report.findings,
      ctx.clock(),
    );
    return { report, reply: { kind: 'audit.report', report } };
  });
}

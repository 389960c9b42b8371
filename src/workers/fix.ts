/**
 * The fix hub job: applies one approved, stored finding's action with constant programs and
 * positional arguments only, only if the stored finding is still exactly what the lead approved
 * (the job's digest, the gate's subject, the gate's signed decisions), then runs the report it came from again and sends both results to
 * the proposer and the approver. Forwarding is also persisted in the sysctl drop-in; the
 * masquerade rule is live only, and the messages say what to persist by hand.
 */

import { TunnelgateError as TgError, type TunnelgateError } from '../core/errors.js';
import { verifyGate } from '../domain/gate.js';
import { hubConfig } from '../domain/hubs.js';
import type { Message, Reply } from '../domain/models/reply.js';
import { describeAction } from '../domain/render-diagnosis.js';
import { fixSteps } from '../hub/programs/fixes.js';
import { runScript } from '../hub/ssh/remote-script.js';
import type { HubJob } from '../queue/jobs.js';
import { type FindingRecord, FindingStore, fixDigest } from '../store/findings.js';
import { buildAudit } from './audit.js';
import type { WorkerContext } from './context.js';
import { buildDiagnosis } from './diagnose.js';

type FixJob = Extract<HubJob, { kind: 'fix' }>;

function recipients(job: FixJob): Message['to'][] {
  const to: Message['to'][] = [{ type: 'user', id: job.approvedBy }];
  if (job.proposedBy !== job.approvedBy) to.push({ type: 'user', id: job.proposedBy });
  return to;
}

/** Why the stored finding may not run as this job, or null when it is exactly what was approved. */
function refusal(ctx: WorkerContext, job: FixJob, record: FindingRecord): string | null {
  if (record.hub !== job.hub) return `the finding is about ${record.hub}, not ${job.hub}`;
  if (record.gate === undefined) return 'the finding was stored again without its approval';
  const digest = fixDigest(record);
  if (digest !== job.digest || record.gate.subject !== job.digest)
    return 'the fix changed after it was approved';
  return verifyGate(record.gate, { id: job.findingId, what: 'fix', digest }, ctx.config.roles, ctx.signer);
}

/**
 * Applies the fix and reports; throws NOT_FOUND when the finding expired meanwhile, CONFLICT
 * (nothing run on the hub) when it is not what the lead approved.
 */
export async function applyFix(ctx: WorkerContext, job: FixJob, jobId?: string): Promise<string[]> {
  const store = new FindingStore(ctx.redis, ctx.keys);
  const record = await store.get(job.findingId);
  const action = record?.finding.action;
  if (record === null || action === undefined) {
    throw new TgError('NOT_FOUND', `finding ${job.findingId} is unknown or expired`, {
      hint: 'run /vpn diagnose or /vpn audit again and propose the fix anew',
    });
  }
  const refused = refusal(ctx, job, record);
  if (refused !== null) {
    await ctx.audit.append({
      at: ctx.clock().toISOString(),
      actor: job.approvedBy,
      action: 'fix',
      hub: job.hub,
      target: job.findingId,
      result: 'refused',
      detail: refused,
    });
    throw new TgError('CONFLICT', `fix ${job.findingId} was not applied: ${refused}`, {
      hint: 'run /vpn diagnose or /vpn audit again and propose the fix anew',
    });
  }
  const hub = hubConfig(ctx.config, job.hub);
  await runScript(ctx.pool.get(hub.name), fixSteps(hub, action));
  const changed = describeAction(action, hub.interface);
  await store.remove(job.findingId);
  await ctx.audit.append({
    at: ctx.clock().toISOString(),
    actor: job.approvedBy,
    action: 'fix',
    hub: hub.name,
    target: job.findingId,
    result: 'ok',
    detail: `${record.finding.check} proposed by ${job.proposedBy}`,
  });
  const report: Reply =
    record.source === 'audit'
      ? { kind: 'audit.report', report: await buildAudit(ctx, hub.name) }
      : {
          kind: 'diagnose.report',
          report: (await buildDiagnosis(ctx, hub.name, record.peer, 'full')).report,
        };
  const applied: Reply = {
    kind: 'fix.applied',
    hub: hub.name,
    findingId: record.finding.id,
    proposedBy: job.proposedBy,
    approvedBy: job.approvedBy,
    changed,
  };
  const messages: Message[] = recipients(job).flatMap((to) => [
    { to, private: true, reply: applied },
    { to, private: true, reply: report },
  ]);
  const last = messages.at(-1);
  if (last !== undefined) Object.assign(last, { jobId, final: true });
  await ctx.notify(messages, jobId);
  return changed;
}

/** Tells the approver and proposer that the fix could not be applied. */
export async function fixFailed(
  ctx: WorkerContext,
  job: FixJob,
  error: TunnelgateError,
  jobId?: string,
): Promise<void> {
  const reply: Reply = {
    kind: 'notice',
    text: `fix ${job.findingId} on ${job.hub} failed: ${error.message}`,
  };
  const messages: Message[] = recipients(job).map((to) => ({ to, private: true, reply }));
  const last = messages.at(-1);
  if (last !== undefined) Object.assign(last, { jobId, final: true });
  await ctx.notify(messages, jobId);
}

/**
 * The scheduled full check of the audit chain (on the reminder check's run, `policy.reminderCron`).
 * `/vpn log` verifies only what was appended since its last check; this walk re-reads every entry,
 * so an entry rewritten after it was verified is found within a run. A break is told to the leads
 * and logged; the verification drops its checkpoint, so `/vpn log` names the break from then on.
 */
import type { AuditVerification } from '../store/audit-log.js';
import type { WorkerContext } from './context.js';

/** Verifies the whole audit chain; tells the leads where it breaks, if it does. */
export async function checkAuditChain(
  ctx: Pick<WorkerContext, 'audit' | 'notify' | 'logger'>,
): Promise<AuditVerification> {
  const verdict = await ctx.audit.verify({ full: true });
  if (verdict.intact) return verdict;
  const where = verdict.broken === undefined ? '' : ` at entry ${verdict.broken.seq}`;
  const when = verdict.broken?.at === undefined ? '' : ` (${verdict.broken.at})`;
  const reason = verdict.broken?.reason ?? 'unknown';
  ctx.logger.error({ broken: verdict.broken }, 'the audit chain is broken');
  await ctx.notify([
    {
      to: { type: 'leads' },
      private: false,
      reply: {
        kind: 'notice',
        text: `The scheduled audit check found the audit chain BROKEN${where}${when}: ${reason}. The audit log was altered or damaged; tell an operator.`,
      },
    },
  ]);
  return verdict;
}

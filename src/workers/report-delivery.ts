/**
 * How read-only report jobs (diagnose, audit) end: the report as the job's final private message
 * to whoever asked, or — when the hub cannot be read — the error, translated for chat, with the
 * hub's stderr going to the operator log only.
 */

import { toTunnelgateError } from '../core/errors.js';
import type { UserId } from '../core/ids.js';
import { errorReply } from '../domain/error-reply.js';
import type { Reply } from '../domain/models/reply.js';
import type { WorkerContext } from './context.js';

/** Runs `build`, delivers its reply (or the error) to `to`; returns its report, or null on error. */
export async function deliverReport<T>(
  ctx: WorkerContext,
  job: { hub: string; to: UserId; what: string },
  jobId: string | undefined,
  build: () => Promise<{ report: T; reply: Reply }>,
): Promise<T | null> {
  const to = { type: 'user' as const, id: job.to };
  try {
    const { report, reply } = await build();
    await ctx.notify([{ to, private: true, reply, jobId, final: true }], jobId);
    return report;
  } catch (err) {
    const error = toTunnelgateError(err);
    ctx.logger.warn(
      { hub: job.hub, code: error.code, stderr: error.stderrTail },
      `${job.what} failed: ${error.message}`,
    );
    await ctx.notify([{ to, private: true, reply: errorReply(error), jobId, final: true }], jobId);
    return null;
  }
}

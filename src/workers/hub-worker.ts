/**
 * The BullMQ processor for hub queues. Bad input, authorisation and host-key failures fail the
 * job at once (UnrecoverableError); transient ones (hub unreachable, timeouts, a failing command)
 * are retried with backoff, and only the last attempt reports the failure to people.
 */
import { type ConnectionOptions, type Job, UnrecoverableError, Worker } from 'bullmq';
import { TunnelgateError, toTunnelgateError } from '../core/errors.js';
import { startJobLog } from '../queue/job-log.js';
import { openJob } from '../queue/job-mac.js';
import { HubJob, QUEUE } from '../queue/jobs.js';
import { adopt, adoptFailed } from './adopt.js';
import { repliesTo, type WorkerContext } from './context.js';
import { expirePeer } from './expiry.js';
import { applyFix, fixFailed } from './fix.js';
import { provision, provisionFailed } from './provision.js';
import { reconcile } from './reconcile.js';
import { revoke, revokeFailed } from './revoke.js';
import { rotate, rotateFailed } from './rotate.js';
import { setExpiry } from './set-expiry.js';

/** Lock settings: a crashed worker's job is picked up again within about this long. */
export interface LockTuning {
  lockDurationMs: number;
  stalledIntervalMs: number;
}

async function runHubJob(ctx: WorkerContext, job: HubJob, jobId: string | undefined): Promise<unknown> {
  switch (job.kind) {
    case 'provision':
      return provision(ctx, job.requestId, jobId);
    case 'revoke':
      return revoke(ctx, job, jobId);
    case 'reconcile':
      return reconcile(ctx, job, jobId);
    case 'adopt':
      return adopt(ctx, job, jobId);
    case 'rotate':
      return rotate(ctx, job, jobId);
    case 'expire':
      return expirePeer(ctx, job, jobId);
    case 'set-expiry':
      return setExpiry(ctx, job);
    case 'fix':
      return applyFix(ctx, job, jobId);
    default: {
      const unreachable: never = job;
      throw new Error(`unknown hub job ${JSON.stringify(unreachable)}`);
    }
  }
}

async function reportFinalFailure(ctx: WorkerContext, job: HubJob, error: TunnelgateError, jobId?: string) {
  switch (job.kind) {
    case 'provision':
      return provisionFailed(ctx, job.requestId, error, jobId);
    case 'revoke':
      return revokeFailed(ctx, job, error, jobId);
    case 'reconcile':
      return tellLeads(ctx, `reconcile of ${job.hub} failed: ${error.message}`, jobId);
    case 'adopt':
      return adoptFailed(ctx, job, error, jobId);
    case 'rotate':
      return rotateFailed(ctx, job, error, jobId);
    case 'fix':
      return fixFailed(ctx, job, error, jobId);
    case 'set-expiry':
      return tellLeads(
        ctx,
        `writing the extended expiry of ${job.peer} into ${job.hub}'s config file failed: ${error.message}. The peer stays until the new expiry, but if Redis is rebuilt from the hubs (tunnelgate reconcile) first, the old expiry comes back: extend again after fixing the hub.`,
        jobId,
      );
    case 'expire':
      return tellLeads(
        ctx,
        `removing time-bound peer ${job.peer} from ${job.hub} at its expiry failed: ${error.message}`,
        jobId,
      );
    default: {
      const unreachable: never = job;
      throw new Error(`unknown hub job ${JSON.stringify(unreachable)}`);
    }
  }
}

/** The final word on a failed job that has no requester to answer: a notice to the leads. */
function tellLeads(ctx: WorkerContext, text: string, jobId: string | undefined): Promise<void> {
  return ctx.notify(
    [{ to: { type: 'leads' }, private: false, reply: { kind: 'notice', text }, jobId, final: true }],
    jobId,
  );
}

/** Processes one hub job, classifying failures for BullMQ; logs one line when it ends. */
export async function processHubJob(outer: WorkerContext, job: Job): Promise<unknown> {
  let opened: unknown;
  try {
    opened = openJob(outer.signer, job.queueName, job.data);
  } catch (thrown) {
    // A missing or wrong signature: the job was not added by a process holding the secret.
    startJobLog(outer.logger, job, undefined).end('failed', new TunnelgateError('FORBIDDEN', 'unsigned job'));
    throw thrown;
  }
  const parsed = HubJob.safeParse(opened);
  const log = startJobLog(outer.logger, job, parsed.data);
  if (!parsed.success) {
    outer.logger.error({ jobId: job.id, issues: parsed.error.issues }, 'invalid hub job payload');
    log.end('failed', new TunnelgateError('INPUT_INVALID', 'invalid hub job payload'));
    throw new UnrecoverableError(`invalid hub job payload: ${parsed.error.message}`);
  }
  const ctx = repliesTo(outer, opened);
  try {
    const result = await runHubJob(ctx, parsed.data, job.id);
    log.end('ok');
    return result;
  } catch (thrown) {
    const error = toTunnelgateError(thrown);
    // Queues.addHub always sets attempts (config worker.attempts); a job without it runs once.
    const attempts = job.opts.attempts ?? 1;
    const final = !error.retryable || job.attemptsMade + 1 >= attempts;
    ctx.logger.warn(
      {
        jobId: job.id,
        kind: parsed.data.kind,
        hub: parsed.data.hub,
        code: error.code,
        stderr: error.stderrTail,
        final,
      },
      error.message,
    );
    log.end(final ? 'failed' : 'retrying', error);
    if (!final) throw error;
    await reportFinalFailure(ctx, parsed.data, error, job.id);
    throw new UnrecoverableError(`${error.code}: ${error.message}`);
  }
}

/** Starts one Worker per hub queue (each with concurrency 1; the queue's global limit is 1 too). */
export function startHubWorkers(
  ctx: WorkerContext,
  connection: ConnectionOptions,
  lock: LockTuning,
): Worker[] {
  return ctx.config.hubs.map(
    (hub) =>
      new Worker(QUEUE.hub(hub.name), (job) => processHubJob(ctx, job), {
        connection,
        prefix: ctx.config.redis.prefix,
        concurrency: 1,
        lockDuration: lock.lockDurationMs,
        stalledInterval: lock.stalledIntervalMs,
        maxStalledCount: 3,
      }),
  );
}

/**
 * The one line every job logs at info when it ends, so an operator can follow jobs in the log:
 * queue, kind, hub, job id, request and peer, attempt, duration, outcome, and the error code of a
 * failure. Fields are picked one by one from the payload, never spread: a payload may carry keys
 * and user text that do not belong in a log.
 */
import type { Job } from 'bullmq';
import { type ErrorCode, toTunnelgateError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

/** How a job attempt ended: done, failed with a retry to come, or failed for good. */
export type JobOutcome = 'ok' | 'retrying' | 'failed';

/** The fields the end-of-job line takes from a parsed payload. */
export interface JobSummary {
  kind: string;
  hub?: string;
  requestId?: string;
  peer?: string;
}

/** A timer for one job attempt; `end` logs its line (call it exactly once). */
export interface JobLog {
  /** Logs the end of the attempt; `error` (a failure's cause) gives the code. */
  end(outcome: JobOutcome, error?: unknown): void;
}

/** The summary fields of a payload, or just its kind when the payload is unknown. */
function summarize(payload: unknown, fallbackKind: string): JobSummary {
  const record = payload !== null && typeof payload === 'object' ? (payload as Record<string, unknown>) : {};
  const pick = (key: string) => (typeof record[key] === 'string' ? { [key]: record[key] } : {});
  const kind = typeof record.kind === 'string' ? record.kind : fallbackKind;
  return { kind, ...pick('hub'), ...pick('requestId'), ...pick('peer') };
}

/**
 * Starts timing one attempt of `job`. `payload` is its parsed data (undefined when it did not
 * parse: the line then names the job's BullMQ name as its kind).
 */
export function startJobLog(
  logger: Logger,
  job: Job,
  payload: unknown,
  now = () => performance.now(),
): JobLog {
  const started = now();
  return {
    end(outcome, error) {
      const code: ErrorCode | undefined = error === undefined ? undefined : toTunnelgateError(error).code;
      logger.info(
        {
          queue: job.queueName,
          ...summarize(payload, job.name),
          jobId: job.id,
          attempt: job.attemptsMade + 1,
          attempts: job.opts.attempts ?? 1,
          durationMs: Math.round(now() - started),
          outcome,
          ...(code === undefined ? {} : { code }),
        },
        `job ${outcome}`,
      );
    },
  };
}

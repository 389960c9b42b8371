/**
 * Consumes the notify queue (messages from workers) and hands each message to the adapter's
 * outlet. When a peer was provisioned (or a rotation staged), its owner first gets the private
 * client config (bot/config-redelivery.ts: kept sealed and retried until it was delivered).
 */
import { type ConnectionOptions, type Job, UnrecoverableError, Worker } from 'bullmq';
import { toTunnelgateError } from '../core/errors.js';
import { errorReply } from '../domain/error-reply.js';
import type { Message } from '../domain/models/reply.js';
import { startJobLog } from '../queue/job-log.js';
import { openJob } from '../queue/job-mac.js';
import { NotifyJob, QUEUE } from '../queue/jobs.js';
import { configNews, deliverConfig } from './config-redelivery.js';
import type { BotContext } from './context.js';
import type { Outlet } from './outlet.js';

/**
 * Delivers one worker message, expanding a provisioned (or rotation staged) notice into config +
 * notice for the owner. With `configAttempt` (a redelivery) only the config goes out.
 */
export async function deliverWorkerMessage(
  ctx: BotContext,
  outlet: Outlet,
  message: Message,
  configAttempt = 0,
): Promise<void> {
  const news = configNews(message);
  if (news !== null) {
    try {
      await deliverConfig(ctx, outlet, message, news, configAttempt);
    } catch (thrown) {
      await outlet.deliver({ to: message.to, private: true, reply: errorReply(toTunnelgateError(thrown)) });
    }
  }
  if (configAttempt === 0) await outlet.deliver(message);
}

/**
 * Starts the consumer of the notify queue (concurrency 1 keeps messages in order): the bot's, or
 * with `replyTo` the queue of this process's own reply outlet.
 */
export function startNotifier(
  ctx: BotContext,
  outlet: Outlet,
  connection: ConnectionOptions,
  replyTo?: string,
): Worker {
  const queue = replyTo === undefined ? QUEUE.notify : QUEUE.replies(replyTo);
  return new Worker(
    queue,
    async (job: Job) => {
      const log = startJobLog(ctx.logger, job, undefined);
      try {
        const { messages, configAttempt } = NotifyJob.parse(openJob(ctx.signer, queue, job.data));
        for (const message of messages) await deliverWorkerMessage(ctx, outlet, message, configAttempt);
        log.end('ok');
      } catch (thrown) {
        const final =
          thrown instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        log.end(final ? 'failed' : 'retrying', thrown);
        throw thrown;
      }
    },
    { connection, prefix: ctx.config.redis.prefix, concurrency: 1 },
  );
}

/**
 * Consumes the notify queue (messages from workers) and hands each message to the adapter's
 * outlet. When a peer was provisioned, its owner first gets the private client config.
 */
import { type ConnectionOptions, type Job, UnrecoverableError, Worker } from 'bullmq';
import { toTunnelgateError } from '../core/errors.js';
import { errorReply } from '../domain/error-reply.js';
import type { Message } from '../domain/models/reply.js';
import { startJobLog } from '../queue/job-log.js';
import { openJob } from '../queue/job-mac.js';
import { NotifyJob, QUEUE } from '../queue/jobs.js';
import { configMessage, forgetSealedKey, rotationConfigMessage } from './config-delivery.js';
import type { BotContext } from './context.js';
import type { Outlet } from './outlet.js';

/** Delivers one worker message, expanding a provisioned notice into config + notice for the owner. */
export async function deliverWorkerMessage(ctx: BotContext, outlet: Outlet, message: Message): Promise<void> {
  const reply = message.reply;
  if (reply.kind === 'peer.provisioned' && message.to.type === 'user' && message.to.id === reply.owner) {
    try {
      await outlet.deliver(await configMessage(ctx, reply));
      await forgetSealedKey(ctx, reply.requestId);
    } catch (thrown) {
      await outlet.deliver({ to: message.to, private: true, reply: errorReply(toTunnelgateError(thrown)) });
    }
  }
  if (
    reply.kind === 'peer.rotation' &&
    reply.phase === 'staged' &&
    message.to.type === 'user' &&
    message.to.id === reply.owner
  ) {
    try {
      await outlet.deliver(await rotationConfigMessage(ctx, reply));
    } catch (thrown) {
      await outlet.deliver({ to: message.to, private: true, reply: errorReply(toTunnelgateError(thrown)) });
    }
  }
  await outlet.deliver(message);
}

/** Starts the consumer of the notify queue (concurrency 1 keeps messages in order). */
export function startNotifier(ctx: BotContext, outlet: Outlet, connection: ConnectionOptions): Worker {
  return new Worker(
    QUEUE.notify,
    async (job: Job) => {
      const log = startJobLog(ctx.logger, job, undefined);
      try {
        const { messages } = NotifyJob.parse(openJob(ctx.signer, QUEUE.notify, job.data));
        for (const message of messages) await deliverWorkerMessage(ctx, outlet, message);
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

/**
 * Delivering a client config that carries a sealed private key, without ever losing it: the
 * sealed key is deleted only after the outlet delivered the config. When delivery fails (the
 * owner's DMs are closed, the platform is down), the key stays sealed, the owner and the leads are
 * told how to fetch it again (`/vpn resend <peer>`), and the delivery is retried with the worker
 * backoff, `worker.attempts` times in all.
 */

import { formatDuration } from '../core/duration.js';
import { TunnelgateError, toTunnelgateError } from '../core/errors.js';
import type { Message, Reply } from '../domain/models/reply.js';
import { rotationSealId } from '../store/rotations.js';
import { configMessage, rotationConfigMessage } from './config-delivery.js';
import type { BotContext } from './context.js';
import type { Outlet } from './outlet.js';

/** The worker replies that carry a config for their owner (a rotation only when `staged`). */
export type ConfigNews = Extract<Reply, { kind: 'peer.provisioned' | 'peer.rotation' }>;

/** The config news of a message for its owner, or null when the message carries none. */
export function configNews(message: Message): ConfigNews | null {
  const { reply, to } = message;
  if (to.type !== 'user' || !('owner' in reply) || reply.owner !== to.id) return null;
  if (reply.kind === 'peer.provisioned') return reply;
  if (reply.kind === 'peer.rotation' && reply.phase === 'staged') return reply;
  return null;
}

function sealedKeyOf(ctx: BotContext, news: ConfigNews): string {
  return news.kind === 'peer.provisioned'
    ? ctx.keys.sealedKey(news.requestId)
    : ctx.keys.sealedKey(rotationSealId(news.hub, news.peer));
}

/**
 * Delivers the config of `message` (its `attempt`-th try, 0 first). On success the sealed key and
 * any pending redelivery record go; on failure both stay and a retry is queued while tries remain.
 * A retry that finds the key already delivered (e.g. by `/vpn resend`) does nothing.
 */
export async function deliverConfig(
  ctx: BotContext,
  outlet: Outlet,
  message: Message,
  news: ConfigNews,
  attempt: number,
): Promise<void> {
  const pending = ctx.keys.pendingConfig(news.hub, news.peer);
  let config: Message;
  try {
    config =
      news.kind === 'peer.provisioned'
        ? await configMessage(ctx, news)
        : await rotationConfigMessage(ctx, news);
  } catch (thrown) {
    const error = toTunnelgateError(thrown);
    if (attempt > 0 && error.code === 'NOT_FOUND') {
      await ctx.redis.del(pending);
      return;
    }
    throw error;
  }
  try {
    await outlet.deliver(config);
  } catch (thrown) {
    await failed(ctx, outlet, message, news, attempt, toTunnelgateError(thrown));
    return;
  }
  await ctx.redis.del(sealedKeyOf(ctx, news), pending);
}

async function failed(
  ctx: BotContext,
  outlet: Outlet,
  message: Message,
  news: ConfigNews,
  attempt: number,
  error: TunnelgateError,
): Promise<void> {
  const { peer, owner } = news;
  // What /vpn resend delivers again (no key material in it), kept as long as the sealed key.
  const ttlMs = await ctx.redis.pttl(sealedKeyOf(ctx, news));
  if (ttlMs > 0)
    await ctx.redis.set(ctx.keys.pendingConfig(news.hub, peer), JSON.stringify(message), 'PX', ttlMs);
  const next = attempt + 1;
  const delay = ctx.config.worker.backoff * 2 ** attempt;
  const retrying = next < ctx.config.worker.attempts;
  if (retrying) await ctx.queues.retryConfig(message, next, delay);
  ctx.logger.warn(
    { peer, owner, attempt, code: error.code },
    'config delivery failed; the sealed key is kept',
  );
  await ctx.audit.append({
    at: ctx.clock().toISOString(),
    actor: 'bot',
    action: 'config-undelivered',
    hub: news.hub,
    target: peer,
    result: 'failed',
    detail: `try ${next} of ${ctx.config.worker.attempts}: ${error.message}`.slice(0, 500),
  });
  const when = retrying ? `; it is sent again in ${formatDuration(delay)}` : '';
  const fetch = `/vpn resend ${peer}`;
  const notices: Message[] = [
    {
      to: { type: 'user', id: owner },
      private: true,
      reply: {
        kind: 'notice',
        text: `The config of ${peer} could not be sent to you by direct message (${error.message}). It is kept, sealed${when}. To fetch it again: allow direct messages from this bot, then run ${fetch}.`,
      },
    },
    {
      to: { type: 'leads' },
      private: false,
      reply: {
        kind: 'notice',
        text: `The config of ${peer} could not be delivered to its owner ${owner} (${error.message}); it is kept, sealed${when}. They can fetch it with ${fetch} once direct messages from the bot are allowed.`,
      },
    },
  ];
  for (const notice of notices) {
    try {
      await outlet.deliver(notice);
    } catch (err) {
      ctx.logger.warn({ err, peer }, 'could not send the undelivered-config notice');
    }
  }
}

/** Thrown by an outlet when a config could not reach its owner. */
export function undelivered(peer: string, why: string, cause?: unknown): TunnelgateError {
  return new TunnelgateError('DELIVERY_FAILED', `the config of ${peer} was not delivered: ${why}`, {
    ...(cause === undefined ? {} : { cause }),
  });
}

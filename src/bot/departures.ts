/**
 * Users who left the chat platform (a Discord leave or lost role, a Slack account deactivated):
 * remembered so the next access review asks the leads, not the departed owner, about their peers,
 * and summarised for the adapter that tells the leads (at most once a day per user).
 */
import type { UserId } from '../core/ids.js';
import { ReviewStore } from '../store/reviews.js';
import type { BotContext } from './context.js';

/** A prompt to the leads about one leaver happens at most once a day. */
const ONCE_SECONDS = 86_400;

/** Records that `user` left. */
export function markDeparted(ctx: BotContext, user: string): Promise<void> {
  return new ReviewStore(ctx.redis, ctx.keys).markDeparted(user);
}

/** What a leaver still holds. */
export interface Leaver {
  user: UserId;
  peers: number;
  pending: number;
}

/**
 * Marks `user` departed and returns what they still hold, or null when they hold nothing or the
 * leads were already told today (`source` names the hook, e.g. `discord-offboard`).
 */
export async function userLeft(
  ctx: BotContext,
  user: UserId,
  source: string,
  why: string,
): Promise<Leaver | null> {
  await markDeparted(ctx, user);
  const peers = await ctx.inventory.listByOwner(
    ctx.config.hubs.map((h) => h.name),
    user,
  );
  const pending = await ctx.requests.list({ requester: user, states: ['pending'] });
  if (peers.length === 0 && pending.length === 0) return null;
  const first = await ctx.redis.set(ctx.keys.once(`${source}:${user}`), why, 'EX', ONCE_SECONDS, 'NX');
  return first === null ? null : { user, peers: peers.length, pending: pending.length };
}

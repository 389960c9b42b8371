/**
 * Users who left the platform (the Discord leave hook): remembered so the next access review asks
 * the leads, not the departed owner, about their peers.
 */
import { ReviewStore } from '../store/reviews.js';
import type { BotContext } from './context.js';

/** Records that `user` left. */
export function markDeparted(ctx: BotContext, user: string): Promise<void> {
  return new ReviewStore(ctx.redis, ctx.keys).markDeparted(user);
}

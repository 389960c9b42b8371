/** What the Slack listeners need, passed in; and the one way they hand replies to the outlet. */
import type { BotContext } from '../../bot/context.js';
import type { Logger } from '../../core/logger.js';
import type { Actor } from '../../domain/models/command.js';
import type { Message } from '../../domain/models/reply.js';
import type { ApprovalTracker } from './approval-tracker.js';
import type { Origin, OriginStore } from './origins.js';
import type { SlackApi } from './slack-api.js';
import type { SlackOutlet } from './slack-outlet.js';
import type { SlackNames } from './user-names.js';

export interface HandlerDeps {
  ctx: BotContext;
  api: SlackApi;
  outlet: SlackOutlet;
  origins: OriginStore;
  tracker: ApprovalTracker;
  /** Display names for the peer names of `/vpn request`. */
  names: SlackNames;
  logger: Logger;
}

/**
 * Delivers a command's immediate replies. Jobs it started remember `origin` first, so their later
 * messages to the actor answer in the same place.
 */
export async function deliverReplies(
  deps: HandlerDeps,
  actor: Actor,
  messages: Message[],
  origin: Origin,
): Promise<void> {
  for (const message of messages) {
    if (message.jobId !== undefined && message.to.type === 'user' && message.to.id === actor.id) {
      await deps.origins.remember(message.jobId, origin);
    }
  }
  for (const message of messages) await deps.outlet.deliverFrom(message, origin);
}

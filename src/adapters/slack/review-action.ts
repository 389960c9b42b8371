/**
 * The Keep / Revoke buttons of an access review's ask. A click runs `/vpn review keep|revoke
 * <peer>` as the clicking user through the same rules as the typed command (only the peer's
 * reviewer may answer). The listener acknowledges before doing anything else.
 */
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { runCommand } from '../../bot/dispatch.js';
import { PeerName } from '../../core/ids.js';
import { slackActor } from './actor.js';
import { deliverReplies, type HandlerDeps } from './handler-deps.js';
import { REVIEW_KEEP_ACTION, REVIEW_REVOKE_ACTION } from './review-blocks.js';

/** Registers both review buttons on the app. */
export function registerReviewActions(app: App, deps: HandlerDeps): void {
  for (const [actionId, action] of [
    [REVIEW_KEEP_ACTION, 'keep'],
    [REVIEW_REVOKE_ACTION, 'revoke'],
  ] as const) {
    app.action<BlockAction<ButtonAction>>(actionId, async ({ ack, body, action: button }) => {
      await ack();
      await onAnswer(deps, body, button, action).catch((err) =>
        deps.logger.error({ err, user: body.user.id }, 'slack: review click failed after ack'),
      );
    });
  }
}

async function onAnswer(
  deps: HandlerDeps,
  body: BlockAction,
  button: ButtonAction,
  action: 'keep' | 'revoke',
): Promise<void> {
  const actor = slackActor(body.user.id);
  const peer = PeerName.safeParse(button.value);
  if (!peer.success) {
    deps.logger.warn({ value: button.value }, 'slack: review button without a peer name');
    return;
  }
  const messages = await runCommand(deps.ctx, actor, { verb: 'review', action, peer: peer.data });
  const channel = body.channel?.id ?? String(body.container.channel_id ?? '');
  await deliverReplies(deps, actor, messages, {
    user: body.user.id,
    channel,
    responseUrl: body.response_url,
  });
}

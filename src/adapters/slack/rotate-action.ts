/**
 * The "Rotate now" button of key reminders. A click runs `/vpn rotate <peer>` as the clicking user
 * through the same gate as the typed command (the owner or a lead; anyone else gets the gate's
 * refusal as an ephemeral reply). The listener acknowledges before doing anything else.
 */
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { runCommand } from '../../bot/dispatch.js';
import { PeerName } from '../../core/ids.js';
import { slackActor } from './actor.js';
import { ROTATE_ACTION } from './blocks.js';
import { deliverReplies, type HandlerDeps } from './handler-deps.js';

/** Registers the reminder's rotate button on the app. */
export function registerRotateAction(app: App, deps: HandlerDeps): void {
  app.action<BlockAction<ButtonAction>>(ROTATE_ACTION, async ({ ack, body, action }) => {
    await ack();
    await onRotate(deps, body, action).catch((err) =>
      deps.logger.error({ err, user: body.user.id }, 'slack: rotate click failed after ack'),
    );
  });
}

async function onRotate(deps: HandlerDeps, body: BlockAction, action: ButtonAction): Promise<void> {
  const actor = slackActor(body.user.id);
  const peer = PeerName.safeParse(action.value);
  if (!peer.success) {
    deps.logger.warn({ value: action.value }, 'slack: rotate button without a peer name');
    return;
  }
  const messages = await runCommand(deps.ctx, actor, { verb: 'rotate', peer: peer.data });
  const channel = body.channel?.id ?? String(body.container.channel_id ?? '');
  await deliverReplies(deps, actor, messages, {
    user: body.user.id,
    channel,
    responseUrl: body.response_url,
  });
}

/**
 * The "Rotate now" button of key reminders and the "Revoke now" button of break-glass notices. A
 * click runs `/vpn rotate|revoke <peer>` as the clicking user through the same gate as the typed
 * command (the owner or a lead; anyone else gets the gate's refusal as an ephemeral reply). The
 * listener acknowledges before doing anything else.
 */
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { runCommand } from '../../bot/dispatch.js';
import { PeerName } from '../../core/ids.js';
import { slackActor } from './actor.js';
import { REVOKE_ACTION, ROTATE_ACTION } from './blocks.js';
import { deliverReplies, type HandlerDeps } from './handler-deps.js';

/** Registers the reminder's rotate button and the break-glass revoke button on the app. */
export function registerRotateAction(app: App, deps: HandlerDeps): void {
  for (const [id, verb] of [
    [ROTATE_ACTION, 'rotate'],
    [REVOKE_ACTION, 'revoke'],
  ] as const) {
    app.action<BlockAction<ButtonAction>>(id, async ({ ack, body, action }) => {
      await ack();
      await onPeerButton(deps, body, action, verb).catch((err) =>
        deps.logger.error({ err, user: body.user.id }, `slack: ${verb} click failed after ack`),
      );
    });
  }
}

async function onPeerButton(
  deps: HandlerDeps,
  body: BlockAction,
  action: ButtonAction,
  verb: 'rotate' | 'revoke',
): Promise<void> {
  const actor = slackActor(body.user.id);
  const peer = PeerName.safeParse(action.value);
  if (!peer.success) {
    deps.logger.warn({ value: action.value }, `slack: ${verb} button without a peer name`);
    return;
  }
  const messages = await runCommand(deps.ctx, actor, { verb, peer: peer.data });
  const channel = body.channel?.id ?? String(body.container.channel_id ?? '');
  await deliverReplies(deps, actor, messages, {
    user: body.user.id,
    channel,
    responseUrl: body.response_url,
  });
}

/**
 * The `/vpn` slash command. `ack()` comes first and alone (Slack allows 3 seconds): the answer is
 * an empty 200, and the command runs afterwards; its replies go back through the response_url
 * (ephemeral for the user) or the Web API. Nothing before `ack()` touches Redis, a queue, a hub or
 * the Web API; the user's display name (for peer names) is looked up after it.
 */
import type { App, SlashCommand } from '@slack/bolt';
import { handleText } from '../../bot/dispatch.js';
import { deliverReplies, type HandlerDeps } from './handler-deps.js';

/** Registers `/vpn` on the app. */
export function registerVpnCommand(app: App, deps: HandlerDeps): void {
  app.command('/vpn', async ({ ack, command }) => {
    await ack();
    await runSlashCommand(deps, command).catch((err) =>
      deps.logger.error({ err, user: command.user_id }, 'slack: /vpn failed after ack'),
    );
  });
}

async function runSlashCommand(deps: HandlerDeps, command: SlashCommand): Promise<void> {
  const actor = await deps.names.actor(command.user_id);
  const messages = await handleText(deps.ctx, actor, command.text);
  await deliverReplies(deps, actor, messages, {
    user: command.user_id,
    channel: command.channel_id,
    responseUrl: command.response_url,
  });
}

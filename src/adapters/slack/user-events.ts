/**
 * The Slack side of departures: a `user_change` event whose user is `deleted` (deactivated by a
 * workspace admin) marks the user departed, so access reviews ask the leads about their peers,
 * and tells the leads once a day what the user still holds and how to offboard them. Slack has no
 * policy hook to offboard by itself: a lead decides, through the usual `/vpn offboard`.
 */
import type { App } from '@slack/bolt';
import { userLeft } from '../../bot/departures.js';
import { UserId } from '../../core/ids.js';
import type { HandlerDeps } from './handler-deps.js';

/** Registers the `user_change` listener (scope `users:read`, event `user_change`). */
export function registerUserEvents(app: App, deps: HandlerDeps): void {
  app.event('user_change', async ({ event }) => {
    if (event.user.deleted !== true) return;
    const user = UserId.safeParse(event.user.id);
    if (!user.success) return;
    try {
      const leaver = await userLeft(deps.ctx, user.data, 'slack-deactivated', 'was deactivated in Slack');
      if (leaver === null) return;
      const holds = `${leaver.peers} peer${leaver.peers === 1 ? '' : 's'} and ${leaver.pending} pending request${leaver.pending === 1 ? '' : 's'}`;
      await deps.outlet.deliver({
        to: { type: 'leads' },
        private: false,
        reply: {
          kind: 'notice',
          text: `<@${user.data}> was deactivated in Slack and still has ${holds}. A lead offboards them with /vpn offboard ${user.data}.`,
        },
      });
    } catch (err) {
      deps.logger.error({ err, user: event.user.id }, 'slack: user_change handling failed');
    }
  });
}

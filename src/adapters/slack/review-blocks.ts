/**
 * Block Kit for an access review's ask: one section per peer with Keep / Revoke buttons (the
 * button's value is the peer; a click runs `/vpn review keep|revoke <peer>`, see review-action.ts).
 */

import type { types } from '@slack/bolt';
import type { Reply } from '../../domain/models/reply.js';
import { reviewItemLine } from '../common/render-review.js';

type Block = types.KnownBlock;

// blocks.ts imports this module, so its helpers are not imported back (no import cycles).
const escapeMrkdwn = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const section = (text: string): Block => ({ type: 'section', text: { type: 'mrkdwn', text } });
const context = (text: string): Block => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });

/** Action ids of the review buttons; their value is the peer name. */
export const REVIEW_KEEP_ACTION = 'tunnelgate_review_keep';
export const REVIEW_REVOKE_ACTION = 'tunnelgate_review_revoke';

/** Slack allows 50 blocks; two go to the head and the foot. */
const MAX_PEERS = 24;

/** The ask: a head, each peer with its buttons (the first 24; the rest by command), a foot. */
export function reviewAskBlocks(reply: Extract<Reply, { kind: 'review.ask' }>): Block[] {
  const whose = reply.forLeads ? 'these peers of people who left' : 'your peers';
  const head = reply.reminder
    ? `:hourglass: Reminder: access review \`${reply.reviewId}\` closes at ${reply.dueAt}; ${whose} still need an answer.`
    : `:clipboard: Access review \`${reply.reviewId}\`: do you still need ${whose}? Answer by ${reply.dueAt}.`;
  const blocks: Block[] = [section(head)];
  for (const item of reply.items.slice(0, MAX_PEERS)) {
    blocks.push(section(escapeMrkdwn(reviewItemLine(item, reply.at))), {
      type: 'actions',
      block_id: `tunnelgate_review_${item.peer}`.slice(0, 255),
      elements: [
        {
          type: 'button',
          action_id: REVIEW_KEEP_ACTION,
          value: item.peer,
          style: 'primary',
          text: { type: 'plain_text', text: 'Keep' },
        },
        {
          type: 'button',
          action_id: REVIEW_REVOKE_ACTION,
          value: item.peer,
          style: 'danger',
          text: { type: 'plain_text', text: 'Revoke' },
        },
      ],
    });
  }
  const more = reply.items.length - MAX_PEERS;
  blocks.push(
    context(
      `${more > 0 ? `${more} more: answer with \`/vpn review keep|revoke <peer>\`. ` : ''}Unanswered peers are flagged or revoked at the due date.`,
    ),
  );
  return blocks.slice(0, 50);
}

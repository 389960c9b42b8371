/**
 * Discord messages for access reviews: the ask as an embed with Keep / Revoke buttons per peer
 * (one row each, Discord's five rows at most; further peers are answered by command), and the
 * report with its Markdown and CSV attached as files. (The payload has render.ts's shape; it is
 * spelled out here because render.ts imports this module.)
 */
import {
  type APIActionRowComponent,
  type APIButtonComponent,
  type APIEmbed,
  ButtonStyle,
  ComponentType,
} from 'discord.js';
import type { Reply } from '../../domain/models/reply.js';
import { reviewItemLine } from '../common/render-review.js';
import { encodeCustomId } from './custom-ids.js';

interface Payload {
  content?: string;
  embeds: APIEmbed[];
  components: APIActionRowComponent<APIButtonComponent>[];
  files: { name: string; data: Buffer }[];
}

const MAX_ROWS = 5;
const DESCRIPTION_LIMIT = 4_000;
const LABEL_LIMIT = 80;

const label = (text: string) => (text.length > LABEL_LIMIT ? `${text.slice(0, LABEL_LIMIT - 1)}…` : text);

/** The ask (or reminder) to one reviewer. */
export function renderReviewAsk(reply: Extract<Reply, { kind: 'review.ask' }>): Payload {
  const whose = reply.forLeads ? 'these peers of people who left' : 'your peers';
  const lines = reply.items.map((item) => `• ${reviewItemLine(item, reply.at)}`);
  let description = lines.join('\n');
  if (description.length > DESCRIPTION_LIMIT) description = `${description.slice(0, DESCRIPTION_LIMIT - 1)}…`;
  const more = reply.items.length - MAX_ROWS;
  const embed: APIEmbed = {
    title: `${reply.reminder ? 'Reminder: access' : 'Access'} review ${reply.reviewId}: do you still need ${whose}?`,
    description,
    color: 0xf1c40f,
    footer: {
      text: `Answer by ${reply.dueAt}${more > 0 ? `; ${more} more by /vpn review keep|revoke <peer>` : ''}. Unanswered peers are flagged or revoked then.`,
    },
  };
  const components = reply.items.slice(0, MAX_ROWS).map(
    (item): APIActionRowComponent<APIButtonComponent> => ({
      type: ComponentType.ActionRow,
      components: [
        {
          type: ComponentType.Button,
          style: ButtonStyle.Success,
          label: label(`Keep ${item.peer}`),
          custom_id: encodeCustomId({ action: 'keep', peer: item.peer }),
        },
        {
          type: ComponentType.Button,
          style: ButtonStyle.Danger,
          label: label(`Revoke ${item.peer}`),
          custom_id: encodeCustomId({ action: 'revoke', peer: item.peer }),
        },
      ],
    }),
  );
  return { embeds: [embed], components, files: [] };
}

/** The report: a line of content, with the Markdown and the CSV as attachments. */
export function renderReviewReport(reply: Extract<Reply, { kind: 'review.report' }>): Payload {
  return {
    content: `Access review ${reply.reviewId}: the report is attached (Markdown and CSV).`,
    embeds: [],
    components: [],
    files: [
      { name: `review-${reply.reviewId}.md`, data: Buffer.from(reply.markdown) },
      { name: `review-${reply.reviewId}.csv`, data: Buffer.from(reply.csv) },
    ],
  };
}

/**
 * Plain-text rendering of the access review replies: the ask (one line per peer with the answer
 * commands), the progress table, and the report (Markdown, then the CSV).
 */
import { formatDuration } from '../../core/duration.js';
import type { Reply } from '../../domain/models/reply.js';
import type { ReviewItem } from '../../domain/models/review.js';

type ReviewReply = Extract<Reply, { kind: 'review.ask' | 'review.status' | 'review.report' }>;

/** Last handshake of a peer under review: "3h 5m ago", "never", or "unknown" (hub unreadable). */
export function handshakeText(item: Pick<ReviewItem, 'handshakeAgeSec' | 'handshakeKnown'>): string {
  if (!item.handshakeKnown) return 'unknown';
  return item.handshakeAgeSec === null ? 'never' : `${formatDuration(item.handshakeAgeSec * 1000)} ago`;
}

/** One line describing a peer under review, key age counted to `at` (ISO). */
export function reviewItemLine(item: ReviewItem, at: string): string {
  const owner = item.reviewer === 'leads' ? ` (owner ${item.owner} left)` : '';
  const keyAge = formatDuration(Math.max(0, Date.parse(at) - Date.parse(item.keyCreatedAt)));
  return `${item.peer} on ${item.hub}${owner}: ${item.address}, ${item.mode} tunnel, last handshake ${handshakeText(item)}, key ${keyAge} old, ${item.expiresAt === null ? 'no expiry' : `expires ${item.expiresAt}`}`;
}

/** Renders a review reply as text. */
export function renderReview(reply: ReviewReply): string {
  switch (reply.kind) {
    case 'review.ask': {
      const whose = reply.forLeads ? 'these peers of people who left' : 'your peers';
      const head = reply.reminder
        ? `Reminder: access review ${reply.reviewId} closes at ${reply.dueAt}; ${whose} still need an answer:`
        : `Access review ${reply.reviewId}: do you still need ${whose}? Answer by ${reply.dueAt}:`;
      return [
        head,
        ...reply.items.map(
          (item) =>
            `- ${reviewItemLine(item, reply.at)}\n  keep: /vpn review keep ${item.peer}   revoke: /vpn review revoke ${item.peer}`,
        ),
        'Peers without an answer by then are flagged to the leads or revoked (policy.reviewAction).',
      ].join('\n');
    }
    case 'review.status':
      return [
        `Access review ${reply.reviewId} (${reply.state}, due ${reply.dueAt}):`,
        ...reply.progress.map(
          (p) =>
            `  ${p.reviewer}: ${p.kept + p.revoked}/${p.total} answered (${p.kept} kept, ${p.revoked} revoked, ${p.unanswered} waiting)`,
        ),
      ].join('\n');
    case 'review.report':
      return `${reply.markdown}\nCSV:\n${reply.csv.replace(/\r\n/g, '\n')}`;
    default: {
      const unreachable: never = reply;
      return unreachable;
    }
  }
}

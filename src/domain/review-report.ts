/**
 * The evidence of an access review, as an auditor asks for it: every peer under review, who
 * confirmed or revoked it and when, and what happened at the due date. Markdown for people, CSV
 * for spreadsheets; both pure and built from the review record alone.
 */
import type { Review, ReviewItem } from './models/review.js';
import { progress } from './review.js';

const OUTCOME_TEXT: Readonly<Record<NonNullable<ReviewItem['outcome']>, string>> = {
  kept: 'kept (confirmed)',
  'revoke-queued': 'revocation queued',
  revoked: 'revoked',
  'revoke-failed': 'revocation failed (still on the hub)',
  flagged: 'flagged to the leads (not confirmed)',
  gone: 'already removed',
};

/** What happened to the peer at the due date (or `open` before it; the answer when answered). */
function atDeadline(review: Review, item: ReviewItem): string {
  if (item.decision !== null) return 'answered before the due date';
  if (review.state === 'open') return 'due date not reached';
  if (item.outcome === 'gone') return 'already removed';
  if (item.outcome === 'revoke-failed') return 'revocation failed (reviewAction revoke)';
  return review.action === 'revoke' ? 'revoked (reviewAction revoke)' : 'flagged (reviewAction flag)';
}

/** The same for CSV: empty (answered, or not due yet), `revoked`, `revoke-failed`, `flagged` or `gone`. */
function deadlineCode(review: Review, item: ReviewItem): string {
  if (item.decision !== null || review.state === 'open') return '';
  if (item.outcome === 'gone' || item.outcome === 'revoke-failed') return item.outcome;
  return review.action === 'revoke' ? 'revoked' : 'flagged';
}

function outcomeText(item: ReviewItem): string {
  return item.outcome === null ? 'waiting for an answer' : OUTCOME_TEXT[item.outcome];
}

/** The report as a Markdown document: a summary, progress per reviewer and one row per peer. */
export function reviewMarkdown(review: Review): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const rows = review.items.map((item) =>
    [
      item.hub,
      item.peer,
      item.owner,
      item.reviewer === 'leads' ? 'leads (owner left)' : 'owner',
      item.decision?.verdict ?? '-',
      item.decision?.by ?? '-',
      item.decision?.at ?? '-',
      atDeadline(review, item),
      outcomeText(item),
      item.outcomeAt ?? '-',
    ]
      .map(cell)
      .join(' | '),
  );
  return [
    `# Access review ${review.id}`,
    '',
    `- Scope: ${review.hub === undefined ? 'every hub' : `hub ${review.hub}`}`,
    `- Started: ${review.startedAt} by ${review.startedBy}`,
    `- Due: ${review.dueAt}`,
    `- Closed: ${review.closedAt ?? 'not yet (open)'}`,
    `- At the due date: ${review.action ?? 'not reached'}`,
    `- Peers: ${review.items.length}`,
    '',
    '## Progress',
    '',
    '| Reviewer | Peers | Kept | Revoked | Unanswered |',
    '| --- | --- | --- | --- | --- |',
    ...progress(review).map(
      (p) => `| ${p.reviewer} | ${p.total} | ${p.kept} | ${p.revoked} | ${p.unanswered} |`,
    ),
    '',
    '## Peers',
    '',
    '| Hub | Peer | Owner | Reviewer | Answer | Answered by | Answered at | At the due date | Outcome | Outcome at |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((row) => `| ${row} |`),
    '',
  ].join('\n');
}

/** CSV columns, in order. */
export const REVIEW_CSV_COLUMNS = [
  'review',
  'hub',
  'peer',
  'owner',
  'address',
  'mode',
  'key_created_at',
  'expires_at',
  'handshake_age_sec',
  'reviewer',
  'answer',
  'answered_by',
  'answered_at',
  'at_due_date',
  'outcome',
  'outcome_at',
] as const;

/** One CSV field: quoted when needed, and never read as a formula by a spreadsheet. */
function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The report as CSV (RFC 4180, CRLF line ends), one row per peer. */
export function reviewCsv(review: Review): string {
  const rows = review.items.map((item) => [
    review.id,
    item.hub,
    item.peer,
    item.owner,
    item.address,
    item.mode,
    item.keyCreatedAt,
    item.expiresAt ?? '',
    !item.handshakeKnown ? 'unknown' : item.handshakeAgeSec === null ? 'never' : String(item.handshakeAgeSec),
    item.reviewer,
    item.decision?.verdict ?? '',
    item.decision?.by ?? '',
    item.decision?.at ?? '',
    deadlineCode(review, item),
    item.outcome ?? '',
    item.outcomeAt ?? '',
  ]);
  return `${[[...REVIEW_CSV_COLUMNS], ...rows].map((row) => row.map(csvField).join(',')).join('\r\n')}\r\n`;
}

/**
 * Block Kit rendering of replies. Kinds with a richer Slack form (errors, audit logs, reconcile and
 * step reports, key reminders with a "Rotate now" button) get it; every other kind, including kinds added after this adapter, falls back to
 * the plain text of `bot/render-text.ts` in a code block. Pure: no Slack calls here.
 *
 * Everything a user typed (reasons, device names) is escaped, so it cannot mention `@channel` or
 * forge links.
 */
import type { types } from '@slack/bolt';
import type { AuditReport, DiagnoseReport, Finding } from '../../domain/models/diagnosis.js';
import type { Reply } from '../../domain/models/reply.js';
import { auditVerdict } from '../common/audit-verdict.js';
import { renderText } from '../common/render-text.js';
import { reviewAskBlocks } from './review-blocks.js';

export type Block = types.KnownBlock;

/** What one Slack post carries: blocks and the notification/fallback text. */
export interface SlackBody {
  text: string;
  blocks: Block[];
}

/** The action id of a key reminder's "Rotate now" button; its value is the peer name. */
export const ROTATE_ACTION = 'tunnelgate_rotate';
/** The "Revoke now" button of break-glass notices (runs `/vpn revoke <peer>` as the clicker). */
export const REVOKE_ACTION = 'tunnelgate_revoke';

/** Slack allows 3000 characters in a section's text; stay below for the code fence. */
const SECTION_LIMIT = 2_900;
/** Slack allows 50 blocks per message. */
const BLOCK_LIMIT = 50;
/** Notification text is shown in previews; keep it short. */
const FALLBACK_LIMIT = 300;

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const SLACK_USER = /^[UW][A-Z0-9]{2,}$/;

/** True for ids shaped like Slack user ids (`U0123ABC`, `W…` on Enterprise Grid). */
export function isSlackUserId(id: string): boolean {
  return SLACK_USER.test(id);
}

/** A Slack mention for Slack user ids (Slack shows the display name); other ids as plain text. */
export function mention(id: string): string {
  return isSlackUserId(id) ? `<@${id}>` : escapeMrkdwn(id);
}

export function section(text: string): Block {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

export function context(text: string): Block {
  return { type: 'context', elements: [{ type: 'mrkdwn', text }] };
}

/** Text in code blocks, split at line ends to fit Slack's section limit. */
export function codeBlocks(text: string): Block[] {
  const chunks: string[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    const piece = line.length > SECTION_LIMIT ? `${line.slice(0, SECTION_LIMIT - 1)}…` : line;
    if (current.length + piece.length + 1 > SECTION_LIMIT) {
      chunks.push(current);
      current = '';
    }
    current = current === '' ? piece : `${current}\n${piece}`;
  }
  if (current !== '' || chunks.length === 0) chunks.push(current);
  return chunks.map((chunk) => section(`\`\`\`${escapeMrkdwn(chunk)}\`\`\``));
}

/** Caps a block list at Slack's limit, saying what was left out. */
export function capBlocks(blocks: Block[]): Block[] {
  if (blocks.length <= BLOCK_LIMIT) return blocks;
  const kept = blocks.slice(0, BLOCK_LIMIT - 1);
  return [
    ...kept,
    context(`_${blocks.length - kept.length} more parts left out; use the shell for all of it._`),
  ];
}

/** Short one-line text for notifications and clients without Block Kit. */
export function fallbackText(text: string): string {
  const first = text.split('\n')[0] ?? '';
  return first.length > FALLBACK_LIMIT ? `${first.slice(0, FALLBACK_LIMIT - 1)}…` : first;
}

/** The Slack rendering of a reply. */
export function replyBody(reply: Reply): SlackBody {
  const text = fallbackText(plainText(reply));
  return { text, blocks: capBlocks(replyBlocks(reply)) };
}

/** renderText, guarded for a kind this build's renderText does not know yet (it returns the reply). */
function plainText(reply: Reply): string {
  const text: unknown = renderText(reply);
  return typeof text === 'string' ? text : `(${String((reply as { kind: unknown }).kind)})`;
}

function replyBlocks(reply: Reply): Block[] {
  switch (reply.kind) {
    case 'help':
      return codeBlocks(reply.text);
    case 'notice':
      return [section(escapeMrkdwn(reply.text))];
    case 'error':
      return [
        section(`:warning: *${escapeMrkdwn(reply.message)}* (\`${escapeMrkdwn(reply.code)}\`)`),
        ...(reply.hint === undefined ? [] : [context(`Next: ${escapeMrkdwn(reply.hint)}`)]),
        ...(reply.usage === undefined ? [] : codeBlocks(`Usage: ${reply.usage}`)),
      ];
    case 'audit.log':
      return [
        ...lineBlocks(
          reply.entries.map(
            (e) =>
              `${resultIcon(e.result)} \`${escapeMrkdwn(e.seq)}\` ${escapeMrkdwn(e.at)} ${mention(e.actor)} *${escapeMrkdwn(e.action)}*` +
              ` ${escapeMrkdwn([e.hub, e.target].filter((x) => x !== undefined).join(' '))} → ${escapeMrkdwn(e.result)}`,
          ),
          'The audit log is empty.',
        ),
        ...auditVerdict(reply).map((line) =>
          context(`${reply.chainIntact ? ':link:' : ':rotating_light:'} ${escapeMrkdwn(line)}`),
        ),
      ];
    case 'reconcile.report':
      return [
        section(
          reply.inSync
            ? `:white_check_mark: Hub *${escapeMrkdwn(reply.hub)}* is in sync with the inventory.`
            : `:warning: Hub *${escapeMrkdwn(reply.hub)}* has drifted from the inventory.`,
        ),
        ...lineBlocks(
          reply.findings.map(
            (f) => `• *${f.type}* ${escapeMrkdwn(f.peer ?? '-')}: ${escapeMrkdwn(f.detail)}`,
          ),
          null,
        ),
      ];
    case 'diagnose.report':
      return diagnoseBlocks(reply.report);
    case 'audit.report':
      return auditBlocks(reply.report);
    case 'key.reminder':
      return reminderBlocks(reply);
    case 'breakglass.granted':
      return [
        section(`:rotating_light: ${escapeMrkdwn(plainText(reply))}`),
        {
          type: 'actions',
          block_id: `tunnelgate_breakglass_${reply.requestId}`,
          elements: [
            {
              type: 'button',
              action_id: REVOKE_ACTION,
              value: reply.peer,
              style: 'danger',
              text: { type: 'plain_text', text: 'Revoke now' },
            },
          ],
        },
      ];
    case 'review.ask':
      return reviewAskBlocks(reply);
    default:
      return codeBlocks(plainText(reply));
  }
}

/**
 * A key reminder: its text, and a "Rotate now" button while rotating still helps (not once the
 * peer is being revoked). The button runs `/vpn rotate <peer>` through the same gate.
 */
function reminderBlocks(reply: Extract<Reply, { kind: 'key.reminder' }>): Block[] {
  const blocks: Block[] = [section(`:key: ${escapeMrkdwn(plainText(reply))}`)];
  if (reply.stage === 'revoking') return blocks;
  blocks.push({
    type: 'actions',
    block_id: `tunnelgate_reminder_${reply.peer}`.slice(0, 255),
    elements: [
      {
        type: 'button',
        action_id: ROTATE_ACTION,
        value: reply.peer,
        style: 'primary',
        text: { type: 'plain_text', text: 'Rotate now' },
      },
    ],
  });
  return blocks;
}

/** A finding: its title with a severity icon; cause, fix and the fix command collapsed below. */
function findingBlocks(finding: Finding): Block[] {
  const icon =
    finding.severity === 'high'
      ? ':x:'
      : finding.severity === 'medium'
        ? ':warning:'
        : ':small_blue_diamond:';
  const fixCommand = finding.action === undefined ? '' : `\nApply: \`/vpn fix ${finding.id}\``;
  return [
    section(`${icon} *${escapeMrkdwn(finding.title)}* (\`${finding.id}\`)`),
    context(escapeMrkdwn(`Cause: ${finding.cause}\nFix: ${finding.fix}`) + fixCommand),
  ];
}

/** Diagnose: one line per playbook step with its verdict icon; evidence and findings collapsed. */
function diagnoseBlocks(report: DiagnoseReport): Block[] {
  const subject =
    report.target.type === 'peer' ? `peer ${report.target.peer} on ${report.hub}` : `hub ${report.hub}`;
  const blocks: Block[] = [section(`*Diagnosis of ${escapeMrkdwn(subject)}*`)];
  for (const step of report.steps) {
    blocks.push(
      section(`${statusIcon(step.verdict)} *${step.step}. ${step.name}*: ${escapeMrkdwn(step.summary)}`),
    );
    if (step.evidence.length > 0)
      blocks.push(context(escapeMrkdwn(fallbackText(step.evidence.slice(0, 5).join('\n')))));
    for (const finding of step.findings) blocks.push(...findingBlocks(finding));
  }
  return blocks;
}

/** Audit: every finding with severity, cause and fix; the checks that passed in one line. */
function auditBlocks(report: AuditReport): Block[] {
  const head =
    report.findings.length === 0
      ? `:white_check_mark: *Audit of ${escapeMrkdwn(report.hub)}*: nothing flagged.`
      : `:warning: *Audit of ${escapeMrkdwn(report.hub)}*: ${report.findings.length} finding(s).`;
  return [
    section(head),
    ...report.findings.flatMap(findingBlocks),
    ...(report.passed.length === 0 ? [] : [context(escapeMrkdwn(`Passed: ${report.passed.join(', ')}`))]),
  ];
}

/** Lines grouped into sections that fit the limit. */
function lineBlocks(lines: string[], empty: string | null): Block[] {
  if (lines.length === 0) return empty === null ? [] : [section(empty)];
  const blocks: Block[] = [];
  let current = '';
  for (const line of lines) {
    if (current !== '' && current.length + line.length + 1 > SECTION_LIMIT) {
      blocks.push(section(current));
      current = '';
    }
    current = current === '' ? line : `${current}\n${line}`;
  }
  if (current !== '') blocks.push(section(current));
  return blocks;
}

function resultIcon(result: string): string {
  if (/^(ok|queued|pending|provisioned)$/.test(result)) return ':white_check_mark:';
  if (/refused|denied/.test(result)) return ':no_entry:';
  if (/fail|error/.test(result)) return ':x:';
  return ':small_blue_diamond:';
}

function statusIcon(status: string): string {
  switch (status.toLowerCase()) {
    case 'ok':
    case 'pass':
    case 'passed':
    case 'success':
      return ':white_check_mark:';
    case 'warn':
    case 'warning':
      return ':warning:';
    case 'fail':
    case 'failed':
    case 'error':
      return ':x:';
    case 'skip':
    case 'skipped':
      return ':heavy_minus_sign:';
    default:
      return ':small_blue_diamond:';
  }
}

/**
 * Replies as Discord messages: embeds for reviews, errors, reports and key reminders, Approve/Deny
 * buttons on a pending review and "Rotate now" on a reminder, the client config and its QR code as
 * attachments, and the plain-text rendering (in a code block, so tables line up) for every other kind.
 */

import type { APIActionRowComponent, APIButtonComponent } from 'discord.js';
import { type APIEmbed, type APIEmbedField, ButtonStyle, ComponentType } from 'discord.js';
import { formatDuration } from '../../core/duration.js';
import type { UserId } from '../../core/ids.js';
import { approvers, denial } from '../../domain/gate.js';
import type {
  AuditReport,
  DiagnoseReport,
  Finding,
  Severity,
  Verdict,
} from '../../domain/models/diagnosis.js';
import type { Reply } from '../../domain/models/reply.js';
import type { AccessRequest } from '../../domain/models/request.js';
import { describeDrift } from '../../domain/render-drift.js';
import { renderText } from '../common/render-text.js';
import { encodeCustomId } from './custom-ids.js';
import { renderReviewAsk, renderReviewReport } from './render-review.js';

/** A message as the adapter sends it; `files` become multipart attachments. */
export interface DiscordPayload {
  content?: string;
  embeds: APIEmbed[];
  components: APIActionRowComponent<APIButtonComponent>[];
  files: { name: string; data: Buffer }[];
}

const CONTENT_LIMIT = 2000;
const FIELD_LIMIT = 1024;
const MAX_FIELDS = 25;
/** What an embed's field values may use of its 6000 characters (title, names, footer take the rest). */
const EMBED_FIELDS_BUDGET = 4000;
const COLORS = { pending: 0xf1c40f, good: 0x2ecc71, bad: 0xe74c3c, info: 0x5865f2 } as const;

type Review = Extract<Reply, { kind: 'request.review' }>;

/** Renders one reply: embeds for the kinds below, the plain-text rendering for the rest. */
export function renderDiscord(reply: Reply): DiscordPayload {
  switch (reply.kind) {
    case 'request.review':
      return renderReview(reply);
    case 'peer.config':
      return {
        content: [
          `Your WireGuard config for **${reply.peer}** on **${reply.hub}** (request ${reply.requestId}) is attached. Keep it private.`,
          reply.ownKey ? "Put your device's private key in place of the PrivateKey placeholder." : null,
          'Import the .conf file, or scan the QR code with the WireGuard app.',
        ]
          .filter((line) => line !== null)
          .join('\n'),
        embeds: [],
        components: [],
        files: [
          { name: `${reply.peer}.conf`, data: Buffer.from(reply.configText) },
          { name: `${reply.peer}-qr.png`, data: Buffer.from(reply.qrPngBase64, 'base64') },
        ],
      };
    case 'error':
      return embedOnly({
        title: `Error: ${reply.code}`,
        description: clip(reply.message, 4000),
        color: COLORS.bad,
        fields: [
          ...(reply.hint === undefined ? [] : [field('Next', reply.hint)]),
          ...(reply.usage === undefined ? [] : [field('Usage', reply.usage)]),
        ],
      });
    case 'diagnose.report':
      return renderDiagnosis(reply.report);
    case 'audit.report':
      return renderAudit(reply.report);
    case 'key.reminder':
      return renderReminder(reply);
    case 'breakglass.granted':
      return {
        embeds: [{ title: 'Break-glass access', description: renderText(reply), color: COLORS.bad }],
        components: [
          {
            type: ComponentType.ActionRow,
            components: [
              {
                type: ComponentType.Button,
                style: ButtonStyle.Danger,
                label: 'Revoke now',
                custom_id: encodeCustomId({ action: 'remove', peer: reply.peer }),
              },
            ],
          },
        ],
        files: [],
      };
    case 'review.ask':
      return renderReviewAsk(reply);
    case 'review.report':
      return renderReviewReport(reply);
    default:
      return textPayload(renderText(reply));
  }
}

/** The review embed for a request in its current state; buttons only while it is pending. */
export function renderReview(review: Review): DiscordPayload {
  const { request, preview } = review;
  const pending = request.state === 'pending';
  const embed: APIEmbed = {
    title: `VPN access request ${request.id}`,
    description: `<@${request.requester}> asks for access for **${request.device}**.`,
    color: pending ? COLORS.pending : (STATE_COLORS[request.state] ?? COLORS.info),
    fields: [
      field('State', stateLine(request)),
      ...(request.reason === undefined ? [] : [field('Reason', request.reason)]),
      field('Hub', `${preview.hub} (${preview.endpoint})`, true),
      field('Peer', preview.peer, true),
      field('Tunnel address', preview.address, true),
      field('Mode', preview.mode === 'full' ? 'full tunnel' : 'split tunnel', true),
      field('Duration', preview.forMs === undefined ? 'permanent' : formatDuration(preview.forMs), true),
      field('Approvals', `${approvers(request.gate).length} of ${request.gate.required}`, true),
      field('Client AllowedIPs', preview.clientAllowedIps.join(', ')),
      ...(preview.drift === undefined ? [] : [field('Hub drift', describeDrift(preview.drift))]),
    ],
    footer: {
      text: pending ? `Pending until ${request.gate.until}` : `Last change ${lastChange(request)}`,
    },
  };
  const buttons: APIButtonComponent[] = [
    {
      type: ComponentType.Button,
      style: ButtonStyle.Success,
      label: 'Approve',
      custom_id: encodeCustomId({ action: 'approve', requestId: request.id }),
    },
    {
      type: ComponentType.Button,
      style: ButtonStyle.Danger,
      label: 'Deny',
      custom_id: encodeCustomId({ action: 'deny', requestId: request.id }),
    },
  ];
  return {
    embeds: [embed],
    components: pending ? [{ type: ComponentType.ActionRow, components: buttons }] : [],
    files: [],
  };
}

/** The prompt asking leads to confirm offboarding someone who left or lost the engineer role. */
export function renderOffboardPrompt(
  user: UserId,
  why: string,
  peers: number,
  pending: number,
): DiscordPayload {
  return {
    embeds: [
      {
        title: 'Offboard?',
        description: `<@${user}> ${why}. They still have ${peers} peer(s) and ${pending} pending request(s).`,
        color: COLORS.pending,
        footer: { text: `Or run /vpn offboard user:${user}` },
      },
    ],
    components: [
      {
        type: ComponentType.ActionRow,
        components: [
          {
            type: ComponentType.Button,
            style: ButtonStyle.Danger,
            label: 'Offboard',
            custom_id: encodeCustomId({ action: 'offboard', user }),
          },
        ],
      },
    ],
    files: [],
  };
}

/** Plain text as message content: multi-line text in a code block, clipped to Discord's limit. */
export function textPayload(text: string): DiscordPayload {
  const content = text.includes('\n')
    ? `\`\`\`\n${clip(text, CONTENT_LIMIT - 8)}\n\`\`\``
    : clip(text, CONTENT_LIMIT);
  return { content, embeds: [], components: [], files: [] };
}

/** A diagnosis as one embed field per playbook step (verdict icon first), with its findings. */
function renderDiagnosis(report: DiagnoseReport): DiscordPayload {
  const target =
    report.target.type === 'hub' ? `hub ${report.hub}` : `${report.target.peer} on ${report.hub}`;
  const worst = report.steps.some((s) => s.verdict === 'fail')
    ? COLORS.bad
    : report.steps.some((s) => s.verdict === 'warn')
      ? COLORS.pending
      : COLORS.good;
  return embedOnly({
    title: `Diagnosis of ${target}`,
    color: worst,
    fields: fitted(
      report.steps.slice(0, MAX_FIELDS).map((step) => ({
        name: `${VERDICT_ICONS[step.verdict]} ${step.step}. ${step.name}`,
        value: [step.summary, ...step.findings.map(findingText)].join('\n'),
      })),
    ),
    footer: { text: `Read at ${report.at}` },
  });
}

/** An audit as one embed field per finding, and one for the checks that passed. */
function renderAudit(report: AuditReport): DiscordPayload {
  const shown = report.findings.slice(0, MAX_FIELDS - 1);
  const hidden = report.findings.length - shown.length;
  const fields = shown.map((f) => ({
    name: `${SEVERITY_ICONS[f.severity]} ${f.title} (${f.id})`,
    value: findingDetail(f),
  }));
  if (report.passed.length > 0)
    fields.push({ name: `${VERDICT_ICONS.pass} Passed`, value: report.passed.join(', ') });
  return embedOnly({
    title: `Audit of hub ${report.hub}`,
    description:
      report.findings.length === 0
        ? `Nothing flagged; ${report.passed.length} checks passed.`
        : `${report.findings.length} finding(s)${hidden > 0 ? `; the first ${shown.length} are shown` : ''}.`,
    color: report.findings.length === 0 ? COLORS.good : COLORS.pending,
    fields: fitted(fields),
    footer: { text: `Read at ${report.at}` },
  });
}

/** A finding inside a step: headline, then cause, fix and (when mechanical) the fix command. */
function findingText(f: Finding): string {
  return `${SEVERITY_ICONS[f.severity]} **${f.title}** (${f.id})\n${findingDetail(f)}`;
}

function findingDetail(f: Finding): string {
  return [
    `Cause: ${f.cause}`,
    `Fix: ${f.fix}`,
    ...(f.action === undefined ? [] : [`Apply (a lead approves): \`/vpn fix ${f.id}\``]),
  ].join('\n');
}

/** A key reminder; due and overdue ones carry "Rotate now" (the same gate as /vpn rotate). */
function renderReminder(reply: Extract<Reply, { kind: 'key.reminder' }>): DiscordPayload {
  const rotatable = reply.stage !== 'revoking';
  const embed: APIEmbed = {
    title: REMINDER_TITLES[reply.stage],
    description: renderText(reply),
    color: reply.stage === 'due' ? COLORS.pending : COLORS.bad,
    fields: [
      field('Peer', reply.peer, true),
      field('Hub', reply.hub, true),
      field('Owner', `<@${reply.owner}>`, true),
    ],
    ...(rotatable ? { footer: { text: `Or run /vpn rotate peer:${reply.peer}` } } : {}),
  };
  const rotate: APIButtonComponent = {
    type: ComponentType.Button,
    style: ButtonStyle.Primary,
    label: 'Rotate now',
    custom_id: encodeCustomId({ action: 'rotate', peer: reply.peer }),
  };
  return {
    embeds: [embed],
    components: rotatable ? [{ type: ComponentType.ActionRow, components: [rotate] }] : [],
    files: [],
  };
}

const REMINDER_TITLES: Readonly<Record<Extract<Reply, { kind: 'key.reminder' }>['stage'], string>> = {
  due: 'Key rotation due',
  overdue: 'Key rotation overdue',
  revoking: 'Key not rotated: peer being removed',
};

const VERDICT_ICONS: Readonly<Record<Verdict, string>> = { pass: '✅', warn: '⚠️', fail: '❌', skipped: '⏭️' };
const SEVERITY_ICONS: Readonly<Record<Severity, string>> = { high: '🔴', medium: '🟠', low: '🟡' };

const STATE_COLORS: Partial<Record<AccessRequest['state'], number>> = {
  approved: COLORS.info,
  provisioning: COLORS.info,
  provisioned: COLORS.good,
  failed: COLORS.bad,
  denied: COLORS.bad,
  expired: COLORS.bad,
  revoked: COLORS.bad,
};

function stateLine(request: AccessRequest): string {
  switch (request.state) {
    case 'denied': {
      const no = denial(request.gate);
      return `denied by <@${no?.by ?? '?'}>${no?.reason === undefined ? '' : `: ${no.reason}`}`;
    }
    case 'provisioned':
      return `provisioned${request.address === undefined ? '' : ` at ${request.address}`}`;
    case 'failed':
      return `failed: ${request.error?.message ?? 'see the log'} (a lead may approve again to retry)`;
    case 'approved':
    case 'provisioning':
      return `${request.state} (${approvers(request.gate)
        .map((a) => `<@${a}>`)
        .join(', ')})`;
    default:
      return request.state;
  }
}

function lastChange(request: AccessRequest): string {
  const last = request.history.at(-1);
  return last === undefined ? request.createdAt : `${last.at} (${last.event} by ${last.by})`;
}

function embedOnly(embed: APIEmbed): DiscordPayload {
  return { embeds: [embed], components: [], files: [] };
}

/**
 * Fields within Discord's limits: 256 characters per name and, so that all fields together stay
 * under the 6000 characters of an embed, an equal share of about 5000 per value (at most 1024).
 */
function fitted(fields: readonly { name: string; value: string }[]): APIEmbedField[] {
  const share = Math.min(FIELD_LIMIT, Math.floor(EMBED_FIELDS_BUDGET / Math.max(1, fields.length)));
  return fields.map((f) => ({
    name: clip(f.name, 256),
    value: clip(f.value === '' ? '-' : f.value, share),
    inline: false,
  }));
}

function field(name: string, value: string, inline = false): APIEmbedField {
  return { name: clip(name, 256), value: clip(value === '' ? '-' : value, FIELD_LIMIT), inline };
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

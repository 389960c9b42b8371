/**
 * Plain-text rendering of every {@link Reply} kind: what the terminal shell prints and what chat
 * adapters fall back to. Pure: ages come precomputed in the reply (e.g. `handshakeAgeSec`).
 */
import { formatDuration } from '../../core/duration.js';
import { DEFAULT_HINTS } from '../../domain/error-reply.js';
import { approvers } from '../../domain/gate.js';
import type {
  AuditEntryView,
  ChangePreview,
  DriftFinding,
  PeerView,
  Reply,
} from '../../domain/models/reply.js';
import type { AccessRequest } from '../../domain/models/request.js';
import { describeAction, renderAudit, renderDiagnosis } from '../../domain/render-diagnosis.js';
import { describeDrift } from '../../domain/render-drift.js';
import { auditVerdict } from './audit-verdict.js';
import { renderReview } from './render-review.js';

/** Renders a reply as readable plain text (several lines for tables and previews). */
export function renderText(reply: Reply): string {
  switch (reply.kind) {
    case 'help':
    case 'notice':
      return reply.text;
    case 'error':
      return lines(
        `Error [${reply.code}]: ${reply.message}`,
        reply.hint === undefined ? null : `Next: ${reply.hint}`,
        reply.usage === undefined ? null : `Usage: ${reply.usage}`,
      );
    case 'request.pending': {
      const { request, preview } = reply;
      return lines(
        `Request ${request.id} for ${request.peer} is waiting for approval (${approvalTally(request)}).`,
        renderPreview(preview),
        `It expires unless approved by ${request.gate.until}.`,
      );
    }
    case 'request.review': {
      const { request, preview } = reply;
      return lines(
        `${request.requester} asks for VPN access: request ${request.id} (${approvalTally(request)}).`,
        request.reason === undefined ? null : `Reason: ${request.reason}`,
        renderPreview(preview),
        `Approve: /vpn approve ${request.id}`,
        `Deny:    /vpn deny ${request.id} [reason]`,
      );
    }
    case 'request.approved': {
      const tally = `${reply.approvals.length} of ${reply.required} approvals`;
      return reply.queued
        ? `Request ${reply.requestId} is approved by ${reply.by} (${tally}); provisioning is queued.`
        : `${reply.by} approved request ${reply.requestId} (${tally}); ${remaining(reply.approvals.length, reply.required)}.`;
    }
    case 'request.denied':
      return `Request ${reply.requestId} was denied by ${reply.by}${reply.reason === undefined ? '.' : `: ${reply.reason}`}`;
    case 'request.expired':
      return `Request ${reply.requestId} for ${reply.peer} expired before it was approved; send a new request if you still need access.`;
    case 'request.state':
      return `Request ${reply.requestId} is ${reply.state}: ${reply.text}`;
    case 'peer.provisioned':
      return lines(
        `Peer ${reply.peer} is live on ${reply.hub} at ${reply.address} (owner ${reply.owner}, request ${reply.requestId}).`,
        `Hub public key: ${reply.hubPublicKey}`,
        reply.expiresAt === undefined ? null : `Access ends at ${reply.expiresAt}.`,
      );
    case 'peer.config':
      return lines(
        `WireGuard config for ${reply.peer} on ${reply.hub} (request ${reply.requestId}). Keep it private.`,
        reply.ownKey ? "Put your device's private key in place of the PrivateKey placeholder." : null,
        '',
        reply.configText.trimEnd(),
        '',
        'Or scan this QR code with the WireGuard app:',
        reply.qrTerminal.trimEnd(),
      );
    case 'peer.failed': {
      const request = reply.requestId === undefined ? '' : ` (request ${reply.requestId})`;
      return lines(
        `Could not ${reply.action} peer ${reply.peer} on ${reply.hub}${request}: [${reply.error.code}] ${reply.error.message}`,
        `Next: ${reply.error.hint ?? DEFAULT_HINTS[reply.error.code]}`,
      );
    }
    case 'peer.revoked':
      return `Peer ${reply.peer} was removed from ${reply.hub} by ${reply.by} (${REVOKE_CAUSES[reply.cause]}).`;
    case 'peer.list':
      return lines(
        reply.peers.length === 0 ? `No peers (${reply.scope}).` : `Peers (${reply.scope}):`,
        reply.peers.length === 0 ? null : renderPeerTable(reply.peers),
        reply.pending.length === 0 ? null : '',
        reply.pending.length === 0 ? null : 'Pending requests:',
        reply.pending.length === 0 ? null : renderPendingTable(reply.pending),
      );
    case 'peer.status':
      return reply.peers.length === 0 ? 'No peers to show.' : reply.peers.map(renderPeerStatus).join('\n\n');
    case 'audit.log':
      return lines(
        reply.entries.length === 0 ? 'The audit log is empty.' : renderAuditTable(reply.entries),
        ...auditVerdict(reply),
      );
    case 'reconcile.report':
      return lines(
        reply.inSync
          ? `Hub ${reply.hub} is in sync with the inventory.`
          : `Hub ${reply.hub} has drifted from the inventory.`,
        reply.findings.length === 0 ? null : renderFindings(reply.findings),
      );
    case 'adopt.report':
      return lines(
        reply.dryRun
          ? `Dry run: adopting would put ${reply.peers.length} peer(s) on hub ${reply.hub} under management; nothing was changed.`
          : `Adopted ${reply.peers.length} peer(s) on hub ${reply.hub}: they are managed like any other peer now.`,
        table([
          ['PEER', 'OWNER', 'ADDRESS', 'ALLOWED IPS', 'SEEN', 'PUBLIC KEY'],
          ...reply.peers.map((p) => [
            p.peer,
            p.owner,
            p.address,
            p.allowedIps.join(','),
            p.where,
            p.publicKey,
          ]),
        ]),
      );
    case 'job.queued':
      return `${reply.text} (job ${reply.jobId})`;
    case 'diagnose.report':
      return renderDiagnosis(reply.report);
    case 'audit.report':
      return renderAudit(reply.report);
    case 'fix.pending':
      return lines(
        reply.review
          ? `${reply.proposedBy} proposes a fix on ${reply.hub}: ${reply.finding.title}`
          : `Fix ${reply.finding.id} on ${reply.hub} is waiting for a lead's approval: ${reply.finding.title}`,
        'It will change:',
        ...(reply.finding.action === undefined ? [] : describeAction(reply.finding.action)).map(
          (l) => `  ${l}`,
        ),
        reply.review ? `Approve: /vpn fix ${reply.finding.id} --approve` : null,
      );
    case 'fix.applied':
      return lines(
        `Fix ${reply.findingId} on ${reply.hub} was applied (proposed by ${reply.proposedBy}, approved by ${reply.approvedBy}):`,
        ...reply.changed.map((l) => `  ${l}`),
        'The report is run again; its result follows.',
      );
    case 'peer.rotation':
      return renderRotation(reply);
    case 'key.reminder':
      return renderKeyReminder(reply);
    case 'peer.idle':
      return lines(
        `Peers with no handshake for ${formatDuration(reply.idleAfterMs)} (candidates for /vpn revoke):`,
        renderPeerTable(reply.peers),
      );
    case 'peer.expiring':
      return `Access of ${reply.peer} on ${reply.hub} ends at ${reply.expiresAt}. To keep it, ask: /vpn extend ${reply.peer} <duration>`;
    case 'extension.pending':
      return reply.review
        ? lines(
            `${reply.requester} asks to extend ${reply.peer} on ${reply.hub} (owner ${reply.owner}) by ${formatDuration(reply.forMs)}; it ends at ${reply.expiresAt} now.`,
            `Approve: /vpn approve ${reply.id}`,
            `Deny:    /vpn deny ${reply.id} [reason]`,
          )
        : `Extension ${reply.id} of ${reply.peer} by ${formatDuration(reply.forMs)} is waiting for a lead's approval.`;
    case 'extension.decided':
      return reply.approved
        ? `Extension ${reply.id} of ${reply.peer} was approved by ${reply.by}: access now ends at ${reply.expiresAt ?? 'the new expiry'}.`
        : `Extension ${reply.id} of ${reply.peer} was denied by ${reply.by}${reply.reason === undefined ? '.' : `: ${reply.reason}`}`;
    case 'breakglass.granted':
      return lines(
        `BREAK-GLASS: ${reply.user} (${reply.basis === 'lead' ? 'lead' : 'on call'}) took ${reply.mode} access to ${reply.hub} as ${reply.peer} for ${formatDuration(reply.forMs)}, without approvals.`,
        `Incident: ${reply.incident.provider} ${reply.incident.id} "${reply.incident.title}"${reply.incident.url === null ? '' : ` ${reply.incident.url}`}`,
        reply.reason === undefined ? null : `Reason: ${reply.reason}`,
        `Revoke now: /vpn revoke ${reply.peer}`,
      );
    case 'breakglass.ended':
      return lines(
        `Break-glass access of ${reply.user} to ${reply.hub} (${reply.peer}) ended: ${reply.cause}.`,
        `From ${reply.from} to ${reply.to}; incident ${reply.incident.provider} ${reply.incident.id} "${reply.incident.title}"`,
        reply.latestHandshake === null
          ? 'The peer never completed a handshake.'
          : `Latest handshake ${reply.latestHandshake}; received ${reply.rxBytes ?? '?'} bytes, sent ${reply.txBytes ?? '?'} bytes.`,
      );
    case 'review.ask':
    case 'review.status':
    case 'review.report':
      return renderReview(reply);
    default: {
      const unreachable: never = reply;
      return unreachable;
    }
  }
}

const REVOKE_CAUSES: Readonly<Record<Extract<Reply, { kind: 'peer.revoked' }>['cause'], string>> = {
  revoke: 'revoked',
  offboard: 'owner offboarded',
  expiry: 'time-bound access ended',
  overdue: 'its key was not rotated in time',
  incident: 'its break-glass incident resolved',
  review: 'access review',
};

function renderRotation(reply: Extract<Reply, { kind: 'peer.rotation' }>): string {
  switch (reply.phase) {
    case 'staged':
      return lines(
        `A new key for ${reply.peer} on ${reply.hub} is staged; the old config keeps working until the new one connects.`,
        `${reply.owner}: switch the device to the new config${reply.deadline === undefined ? '' : ` before ${reply.deadline}`}; otherwise the rotation is rolled back.`,
      );
    case 'done':
      return `The key of ${reply.peer} on ${reply.hub} was rotated: only the new key works now (address ${reply.address}).`;
    case 'rolled-back':
      return `The key rotation of ${reply.peer} on ${reply.hub} was rolled back${reply.detail === undefined ? '' : ` (${reply.detail})`}; keep using the old config.`;
    default: {
      const unreachable: never = reply.phase;
      return unreachable;
    }
  }
}

function renderKeyReminder(reply: Extract<Reply, { kind: 'key.reminder' }>): string {
  const rotate = `Rotate it: /vpn rotate ${reply.peer}`;
  switch (reply.stage) {
    case 'due':
      return lines(
        `The key of ${reply.peer} on ${reply.hub} (owner ${reply.owner}, created ${reply.keyCreatedAt}) is due for rotation by ${reply.overdueAt}.`,
        rotate,
      );
    case 'overdue':
      return lines(
        `The key of ${reply.peer} on ${reply.hub} (owner ${reply.owner}) is overdue for rotation since ${reply.overdueAt}.`,
        reply.revokeAt === undefined
          ? null
          : `The peer will be removed at ${reply.revokeAt} unless it is rotated.`,
        rotate,
      );
    case 'revoking':
      return `The key of ${reply.peer} on ${reply.hub} (owner ${reply.owner}) was not rotated in time; the peer is being removed.`;
    default: {
      const unreachable: never = reply.stage;
      return unreachable;
    }
  }
}

/** "12s ago", "3h 5m ago", "never"; "unknown" when the hub could not be read. */
export function formatHandshakeAge(peer: Pick<PeerView, 'handshakeAgeSec' | 'live'>): string {
  if (!peer.live) return 'unknown';
  if (peer.handshakeAgeSec === null) return 'never';
  if (peer.handshakeAgeSec < 1) return 'just now';
  return `${formatDuration(peer.handshakeAgeSec * 1_000)} ago`;
}

/** Bytes in binary units, e.g. `512 B`, `1.5 KiB`, `3.2 GiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function lines(...parts: (string | null)[]): string {
  return parts.filter((part) => part !== null).join('\n');
}

function approvalTally(request: AccessRequest): string {
  return `${approvers(request.gate).length} of ${request.gate.required} approvals`;
}

function remaining(approvals: number, required: number): string {
  const left = Math.max(0, required - approvals);
  return `${left} more ${left === 1 ? 'approval' : 'approvals'} needed`;
}

function renderPreview(preview: ChangePreview): string {
  const mode =
    preview.mode === 'full'
      ? 'full tunnel (all traffic goes through the VPN)'
      : 'split tunnel (only the listed routes)';
  return (
    table(
      [
        ['Hub', `${preview.hub} (${preview.endpoint})`],
        ['Peer', preview.peer],
        ['Tunnel address', `${preview.address} (next free; confirmed at provisioning)`],
        ['Hub AllowedIPs', preview.hubAllowedIps.join(', ')],
        ['Client AllowedIPs', preview.clientAllowedIps.join(', ')],
        ['Mode', mode],
        ['Duration', preview.forMs === undefined ? 'permanent' : formatDuration(preview.forMs)],
        ['Approvals needed', String(preview.approvalsRequired)],
      ],
      '  ',
    ) + (preview.drift === undefined ? '' : `\n${describeDrift(preview.drift)}`)
  );
}

function transfer(peer: PeerView): string {
  if (peer.rxBytes === null || peer.txBytes === null) return '-';
  return `rx ${formatBytes(peer.rxBytes)} / tx ${formatBytes(peer.txBytes)}`;
}

function renderPeerTable(peers: readonly PeerView[]): string {
  return table([
    ['PEER', 'HUB', 'OWNER', 'ADDRESS', 'MODE', 'HANDSHAKE', 'TRANSFER', 'EXPIRES'],
    ...peers.map((p) => [
      p.peer,
      p.hub,
      p.owner,
      p.address,
      p.mode,
      formatHandshakeAge(p),
      transfer(p),
      p.expiresAt ?? 'never',
    ]),
  ]);
}

function renderPendingTable(requests: readonly AccessRequest[]): string {
  return table([
    ['REQUEST', 'PEER', 'HUB', 'MODE', 'APPROVALS', 'PENDING UNTIL'],
    ...requests.map((r) => [
      r.id,
      r.peer,
      r.hub,
      r.mode,
      `${approvers(r.gate).length}/${r.gate.required}`,
      r.gate.until,
    ]),
  ]);
}

function renderPeerStatus(peer: PeerView): string {
  return lines(
    `${peer.peer} on ${peer.hub}${peer.live ? '' : ' (hub unreachable: live data unknown)'}`,
    table(
      [
        ['Owner', peer.owner],
        ['Address', peer.address],
        ['Mode', peer.mode],
        ['Public key', peer.publicKey],
        ['Latest handshake', formatHandshakeAge(peer)],
        ['Transfer', transfer(peer)],
        ['Created', peer.createdAt],
        ['Expires', peer.expiresAt ?? 'never'],
        ...(peer.rotation === undefined ? [] : [['Key rotation', describeRotation(peer.rotation)]]),
      ],
      '  ',
    ),
  );
}

const ROTATION_STATES = {
  staging: 'requested, the new key is not on the hub yet',
  staged: 'waiting for the new key to connect; the current key keeps working',
  moved: 'the address moved to the new key; committing it on the hub',
} as const;

function describeRotation(rotation: NonNullable<PeerView['rotation']>): string {
  const until =
    rotation.state === 'staged' && rotation.deadline !== undefined
      ? ` (rolled back at ${rotation.deadline} if it never connects)`
      : '';
  return `${rotation.state}: ${ROTATION_STATES[rotation.state]}${until}; new key ${rotation.newPublicKey}, since ${rotation.startedAt}`;
}

function renderFindings(findings: readonly DriftFinding[]): string {
  return table([
    ['FINDING', 'PEER', 'PUBLIC KEY', 'DETAIL'],
    ...findings.map((f) => [f.type, f.peer ?? '-', f.publicKey, f.detail]),
  ]);
}

function renderAuditTable(entries: readonly AuditEntryView[]): string {
  return table([
    ['SEQ', 'AT', 'ACTOR', 'ACTION', 'HUB', 'TARGET', 'RESULT', 'DETAIL'],
    ...entries.map((e) => [
      e.seq,
      e.at,
      e.actor,
      e.action,
      e.hub ?? '-',
      e.target ?? '-',
      e.result,
      e.detail ?? '',
    ]),
  ]);
}

/** Left-aligned columns separated by two spaces; trailing spaces trimmed. */
function table(rows: readonly (readonly string[])[], indent = ''): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows
    .map(
      (row) =>
        indent +
        row
          .map((cell, i) => cell.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd(),
    )
    .join('\n');
}

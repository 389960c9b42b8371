/**
 * The approval card leads see for each request: exactly what approving it will change (the
 * ChangePreview), its current state, and Approve/Deny buttons while a decision is possible. The
 * card is re-rendered from the stored request whenever the request moves, and updated in place.
 */

import { formatDuration } from '../../core/duration.js';
import { approvers, denial } from '../../domain/gate.js';
import type { ChangePreview } from '../../domain/models/reply.js';
import type { AccessRequest } from '../../domain/models/request.js';
import { describeDrift } from '../../domain/render-drift.js';
import { type Block, context, escapeMrkdwn, mention, type SlackBody, section } from './blocks.js';

/** Button action ids and the deny modal's callback id. */
export const ACTION = {
  approve: 'tunnelgate_approve',
  deny: 'tunnelgate_deny',
  denyModal: 'tunnelgate_deny_modal',
  reasonBlock: 'tunnelgate_reason',
  reasonInput: 'tunnelgate_reason_input',
} as const;

/** The card for `request` as it stands now. */
export function approvalCard(request: AccessRequest, preview: ChangePreview): SlackBody {
  const status = statusLine(request);
  const blocks: Block[] = [
    section(
      `*VPN access request \`${request.id}\`* from ${mention(request.requester)}` +
        (request.reason === undefined ? '' : `\n>${escapeMrkdwn(request.reason)}`),
    ),
    { type: 'section', fields: previewFields(request, preview) },
    ...(preview.drift === undefined
      ? []
      : [section(`:warning: ${escapeMrkdwn(describeDrift(preview.drift))}`)]),
    section(status),
  ];
  const buttons = buttonsFor(request);
  if (buttons.length > 0) {
    blocks.push({ type: 'actions', block_id: `tunnelgate_decide_${request.id}`, elements: buttons });
  }
  blocks.push(context(`Or type \`/vpn approve ${request.id}\` · \`/vpn deny ${request.id} reason\``));
  return { text: `VPN request ${request.id} for ${request.peer}: ${request.state}`, blocks };
}

/** What the card shows, as one comparable string (skip updates that change nothing). */
export function cardSignature(request: AccessRequest): string {
  return [
    request.state,
    approvers(request.gate).join(','),
    denial(request.gate)?.by ?? '',
    request.address ?? '',
  ].join('|');
}

function previewFields(request: AccessRequest, preview: ChangePreview) {
  const address = request.address ?? `${preview.address} (next free; confirmed at provisioning)`;
  const mode =
    preview.mode === 'full'
      ? 'full tunnel (all traffic through the VPN)'
      : 'split tunnel (listed routes only)';
  const field = (name: string, value: string) => ({
    type: 'mrkdwn' as const,
    text: `*${name}*\n${escapeMrkdwn(value)}`,
  });
  return [
    field('Hub', `${preview.hub} (${preview.endpoint})`),
    field('Peer', preview.peer),
    field('Tunnel address', address),
    field('Mode', mode),
    field('Hub AllowedIPs', preview.hubAllowedIps.join(', ')),
    field('Client AllowedIPs', preview.clientAllowedIps.join(', ')),
    field('Duration', preview.forMs === undefined ? 'permanent' : formatDuration(preview.forMs)),
    field('Approvals needed', String(preview.approvalsRequired)),
  ];
}

function approvedBy(request: AccessRequest): string {
  const who = approvers(request.gate);
  return who.length === 0 ? 'nobody yet' : who.map(mention).join(', ');
}

function statusLine(request: AccessRequest): string {
  const tally = `${approvers(request.gate).length} of ${request.gate.required}`;
  switch (request.state) {
    case 'pending':
      return `:hourglass_flowing_sand: *Pending* (${tally} approvals; approved by ${approvedBy(request)}). Expires ${escapeMrkdwn(request.gate.until)}.`;
    case 'approved':
      return `:gear: *Approved* by ${approvedBy(request)}; provisioning is queued.`;
    case 'provisioning':
      return `:gear: *Provisioning* on ${escapeMrkdwn(request.hub)} (approved by ${approvedBy(request)}).`;
    case 'provisioned':
      return `:white_check_mark: *Provisioned* at ${escapeMrkdwn(request.address ?? '?')} (approved by ${approvedBy(request)}).${
        request.expiresAt === undefined ? '' : ` Access ends ${escapeMrkdwn(request.expiresAt)}.`
      }`;
    case 'failed':
      return `:x: *Provisioning failed*${
        request.error === undefined
          ? ''
          : `: ${escapeMrkdwn(request.error.message)} (\`${escapeMrkdwn(request.error.code)}\`)`
      }. A lead may approve again to retry.`;
    case 'denied': {
      const no = denial(request.gate);
      return `:no_entry: *Denied* by ${mention(no?.by ?? 'unknown')}${
        no?.reason === undefined ? '.' : `: ${escapeMrkdwn(no.reason)}`
      }`;
    }
    case 'expired':
      return ':alarm_clock: *Expired* before it was approved.';
    case 'revoked':
      return ':wastebasket: *Revoked*: the peer was removed.';
    default: {
      const unreachable: never = request.state;
      return unreachable;
    }
  }
}

function buttonsFor(request: AccessRequest) {
  const approve = {
    type: 'button' as const,
    action_id: ACTION.approve,
    value: request.id,
    style: 'primary' as const,
    text: { type: 'plain_text' as const, text: request.state === 'failed' ? 'Approve again' : 'Approve' },
  };
  const deny = {
    type: 'button' as const,
    action_id: ACTION.deny,
    value: request.id,
    style: 'danger' as const,
    text: { type: 'plain_text' as const, text: 'Deny' },
  };
  if (request.state === 'pending') return [approve, deny];
  if (request.state === 'failed') return [approve];
  return [];
}

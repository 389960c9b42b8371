/**
 * The approval state machine, as pure functions over {@link AccessRequest}. Each transition
 * returns a new request (the input is never mutated) with one more `history` entry, or a coded
 * error saying why nothing changed:
 *
 *   pending -> approved -> provisioning -> provisioned -> revoked
 *   pending -> denied | expired;  approved | provisioning -> failed -> (re-approved) approved
 */
import type { PolicyConfig, RolesConfig } from '../config/schema.js';
import { type SerializedError, TunnelgateError } from '../core/errors.js';
import type { Actor } from './models/command.js';
import type { AccessRequest, HistoryEntry, RequestState, TunnelMode } from './models/request.js';
import { isLead, isLeadId } from './roles.js';

/** The `by` of history entries written by Tunnelgate itself (expiry, provisioning). */
export const SYSTEM_ACTOR = 'tunnelgate';

/** A transition's outcome: the new request, or why nothing changed. */
export type Transition = { ok: true; request: AccessRequest } | { ok: false; error: TunnelgateError };

/** What the caller must do after an approval. */
export interface ApproveEffects {
  /** Nothing changed: this lead had already approved, or the request already was approved. */
  alreadyApproved: boolean;
  /** Enough approvals are in: queue the provisioning job. */
  queueProvisioning: boolean;
}

export type ApproveResult =
  | { ok: true; request: AccessRequest; effects: ApproveEffects }
  | { ok: false; error: TunnelgateError };

/** Distinct lead approvals a request of this mode needs. */
export function requiredApprovals(mode: TunnelMode, policy: Pick<PolicyConfig, 'approvals'>): number {
  return policy.approvals[mode];
}

/** The state as of `now`: a pending request past `pendingUntil` counts as expired. */
export function effectiveState(request: AccessRequest, now: Date): RequestState {
  const due = now.getTime() >= Date.parse(request.pendingUntil);
  return request.state === 'pending' && due ? 'expired' : request.state;
}

/**
 * Records a lead's approval. Refuses non-leads and the requester (even a lead), and any request
 * that is not pending, approved or failed. A second approval by the same lead changes nothing.
 * A `failed` request approved again goes back to `approved` to retry provisioning.
 */
export function approve(
  request: AccessRequest,
  approver: Actor,
  roles: RolesConfig,
  now: Date,
): ApproveResult {
  if (!isLead(approver, roles)) {
    return refuse('FORBIDDEN', 'only leads can approve requests', 'ask a lead to approve it');
  }
  if (approver.id === request.requester) {
    return refuse('FORBIDDEN', 'you cannot approve your own request', 'another lead has to approve it');
  }
  const state = effectiveState(request, now);
  switch (state) {
    case 'pending': {
      if (request.approvals.includes(approver.id)) return unchanged(request);
      const approvals = [...request.approvals, approver.id];
      const complete = approvals.length >= request.required;
      const tally = `${approvals.length} of ${request.required}`;
      return {
        ok: true,
        request: advance(
          request,
          {
            approvals,
            approverRoles: withRoles(request, approver),
            state: complete ? 'approved' : 'pending',
          },
          entry(now, approver.id, complete ? 'approved' : 'approval', tally),
        ),
        effects: { alreadyApproved: false, queueProvisioning: complete },
      };
    }
    case 'approved':
      return unchanged(request);
    case 'failed': {
      const approvals = request.approvals.includes(approver.id)
        ? [...request.approvals]
        : [...request.approvals, approver.id];
      const { error: _previous, ...rest } = request;
      const detail = request.error === undefined ? undefined : `after ${request.error.code}`;
      return {
        ok: true,
        request: advance(
          rest,
          { approvals, approverRoles: withRoles(request, approver), state: 'approved' },
          entry(now, approver.id, 'retry', detail),
        ),
        effects: { alreadyApproved: false, queueProvisioning: true },
      };
    }
    case 'provisioning':
    case 'provisioned':
    case 'denied':
    case 'expired':
    case 'revoked':
      return { ok: false, error: conflict(request, state) };
    default: {
      const unreachable: never = state;
      return unreachable;
    }
  }
}

/** A lead denies a pending request; `reason` is shown to the requester. */
export function deny(
  request: AccessRequest,
  actor: Actor,
  reason: string | undefined,
  roles: RolesConfig,
  now: Date,
): Transition {
  if (!isLead(actor, roles)) {
    return refuse('FORBIDDEN', 'only leads can deny requests', 'ask a lead to deny it');
  }
  const state = effectiveState(request, now);
  if (state !== 'pending') return { ok: false, error: conflict(request, state) };
  const changes = {
    state: 'denied',
    deniedBy: actor.id,
    ...(reason === undefined ? {} : { denyReason: reason }),
  } as const;
  return { ok: true, request: advance(request, changes, entry(now, actor.id, 'denied', reason)) };
}

/** Expires a pending request once `now` has reached its `pendingUntil`. */
export function expire(request: AccessRequest, now: Date): Transition {
  if (request.state !== 'pending') return { ok: false, error: conflict(request, request.state) };
  if (effectiveState(request, now) !== 'expired') {
    return refuse(
      'CONFLICT',
      `request ${request.id} is pending until ${request.pendingUntil}; it has not expired`,
    );
  }
  const detail = `not approved by ${request.pendingUntil}`;
  return {
    ok: true,
    request: advance(request, { state: 'expired' }, entry(now, SYSTEM_ACTOR, 'expired', detail)),
  };
}

/** Tunnel address(es) claimed for a request before its hub is touched. */
export interface Allocation {
  address: string;
  address6?: string;
}

/**
 * The provisioning job starts work on an approved request and records the addresses it claimed,
 * so a retry reuses them. Calling it again while `provisioning` (a retried job) records another
 * attempt.
 */
export function markProvisioning(request: AccessRequest, allocation: Allocation, now: Date): Transition {
  if (request.state !== 'approved' && request.state !== 'provisioning') {
    return { ok: false, error: conflict(request, request.state) };
  }
  const changes = {
    state: 'provisioning',
    address: allocation.address,
    ...(allocation.address6 === undefined ? {} : { address6: allocation.address6 }),
  } as const;
  const addresses = [allocation.address, allocation.address6].filter((a) => a !== undefined).join(', ');
  const detail = request.state === 'provisioning' ? `${addresses} (resumed)` : addresses;
  return { ok: true, request: advance(request, changes, entry(now, SYSTEM_ACTOR, 'provisioning', detail)) };
}

/** When the peer went live and, for time-bound access, when it is removed (ISO). */
export interface Provisioned {
  at: Date;
  expiresAt?: string;
}

/** The peer is live on its hub, at the address recorded by {@link markProvisioning}. */
export function markProvisioned(request: AccessRequest, result: Provisioned): Transition {
  if (request.state !== 'provisioning') return { ok: false, error: conflict(request, request.state) };
  const changes = {
    state: 'provisioned',
    provisionedAt: result.at.toISOString(),
    ...(result.expiresAt === undefined ? {} : { expiresAt: result.expiresAt }),
  } as const;
  const detail = result.expiresAt === undefined ? undefined : `until ${result.expiresAt}`;
  return {
    ok: true,
    request: advance(request, changes, entry(result.at, SYSTEM_ACTOR, 'provisioned', detail)),
  };
}

/** Provisioning failed (`error` as serialised by `TunnelgateError.toJSON`); a lead may re-approve. */
export function markFailed(request: AccessRequest, error: SerializedError, now: Date): Transition {
  if (request.state !== 'approved' && request.state !== 'provisioning') {
    return { ok: false, error: conflict(request, request.state) };
  }
  const detail = `${error.code}: ${error.message}`;
  return {
    ok: true,
    request: advance(request, { state: 'failed', error }, entry(now, SYSTEM_ACTOR, 'failed', detail)),
  };
}

/** The peer was removed from its hub (or a failed request was closed) by `by`. */
export function markRevoked(request: AccessRequest, by: string, now: Date): Transition {
  if (request.state !== 'provisioned' && request.state !== 'failed') {
    return { ok: false, error: conflict(request, request.state) };
  }
  return { ok: true, request: advance(request, { state: 'revoked' }, entry(now, by, 'revoked', undefined)) };
}

/**
 * The provisioning worker's re-check against the current config: approvals come from distinct
 * leads, none is the requester, and there are at least `required`. Returns the problem in words
 * (e.g. `bob approved it but is not a lead in the current config`), or null when all is well.
 */
export function verifyApprovals(request: AccessRequest, roles: RolesConfig): string | null {
  const seen = new Set<string>();
  for (const id of request.approvals) {
    if (seen.has(id)) return `${id} is counted twice as an approver`;
    seen.add(id);
    if (id === request.requester) return `${id} approved their own request`;
    const platformRoles = request.approverRoles?.[id] ?? [];
    if (!isLeadId(id, roles) && !platformRoles.some((role) => isLeadId(role, roles))) {
      return `${id} approved it but is not a lead in the current config`;
    }
  }
  if (seen.size < request.required) return `it has ${seen.size} of ${request.required} required approvals`;
  return null;
}

/** The request's approver roles with `approver`'s platform roles recorded (if it has any). */
function withRoles(request: AccessRequest, approver: Actor): Record<string, string[]> | undefined {
  if (approver.platformRoles.length === 0) return request.approverRoles;
  return { ...request.approverRoles, [approver.id]: [...approver.platformRoles] };
}

function refuse(
  code: 'FORBIDDEN' | 'CONFLICT',
  message: string,
  hint?: string,
): { ok: false; error: TunnelgateError } {
  return { ok: false, error: new TunnelgateError(code, message, hint === undefined ? {} : { hint }) };
}

function unchanged(request: AccessRequest): ApproveResult {
  return {
    ok: true,
    request: structuredClone(request),
    effects: { alreadyApproved: true, queueProvisioning: false },
  };
}

function entry(at: Date, by: string, event: string, detail: string | undefined): HistoryEntry {
  return { at: at.toISOString(), by, event, ...(detail === undefined ? {} : { detail }) };
}

/** A detached copy of `request` with `changes` applied and `event` appended to its history. */
function advance(
  request: Omit<AccessRequest, 'error'>,
  changes: Partial<AccessRequest>,
  event: HistoryEntry,
): AccessRequest {
  return structuredClone({ ...request, ...changes, history: [...request.history, event] });
}

function conflict(request: AccessRequest, state: RequestState): TunnelgateError {
  return new TunnelgateError(
    'CONFLICT',
    `request ${request.id} is ${describeState(request, state)}; nothing was changed`,
    {
      hint: stateHint(request, state),
    },
  );
}

function describeState(request: AccessRequest, state: RequestState): string {
  switch (state) {
    case 'pending':
      return `pending (${request.approvals.length} of ${request.required} approvals)`;
    case 'approved':
      return 'approved and queued for provisioning';
    case 'provisioning':
      return 'provisioning (its hub is being changed right now)';
    case 'provisioned':
      return `provisioned (peer ${request.peer}${request.address === undefined ? '' : ` at ${request.address}`})`;
    case 'failed':
      return `failed${request.error === undefined ? '' : ` (${request.error.code}: ${request.error.message})`}`;
    case 'denied': {
      const reason = request.denyReason === undefined ? '' : `: "${request.denyReason}"`;
      return `denied (by ${request.deniedBy ?? 'a lead'}${reason})`;
    }
    case 'expired':
      return `expired (it was not approved by ${request.pendingUntil})`;
    case 'revoked':
      return 'revoked';
    default: {
      const unreachable: never = state;
      return unreachable;
    }
  }
}

function stateHint(request: AccessRequest, state: RequestState): string {
  switch (state) {
    case 'pending':
      return 'a lead can approve or deny it';
    case 'approved':
    case 'provisioning':
      return 'wait for provisioning to finish, then check /vpn list';
    case 'provisioned':
      return `to remove the peer, use /vpn revoke ${request.peer}`;
    case 'failed':
      return 'a lead can approve it again to retry provisioning';
    case 'denied':
    case 'expired':
    case 'revoked':
      return 'send a new request with /vpn request if access is still needed';
    default: {
      const unreachable: never = state;
      return unreachable;
    }
  }
}

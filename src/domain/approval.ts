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
import {
  approvers,
  decide,
  denial,
  type Gate,
  gateState,
  openGate,
  subjectDigest,
  verifyGate,
} from './gate.js';
import type { Actor } from './models/command.js';
import type { AccessRequest, HistoryEntry, RequestState, TunnelMode } from './models/request.js';
import type { Signer } from './signer.js';

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

/** The state as of `now`: a pending request whose gate lapsed counts as expired. */
export function effectiveState(request: AccessRequest, now: Date): RequestState {
  return request.state === 'pending' && gateState(request.gate, now) === 'expired'
    ? 'expired'
    : request.state;
}

/** What exactly a request's approvers decide on: its gate's subject digest. */
export function requestSubject(request: Omit<AccessRequest, 'gate'>): string {
  return subjectDigest({
    kind: 'request',
    id: request.id,
    requester: request.requester,
    hub: request.hub,
    peer: request.peer,
    device: request.device,
    mode: request.mode,
    publicKey: request.publicKey,
    forMs: request.forMs,
  });
}

/** The gate of a new request: `required` leads, never the requester, open until `until`. */
export function requestGate(request: Omit<AccessRequest, 'gate'>, required: number, until: Date): Gate {
  return openGate({
    required,
    excluded: [request.requester],
    subject: requestSubject(request),
    until: until.toISOString(),
  });
}

/** Who decides, and with what, on a request. */
export interface Decider {
  actor: Actor;
  roles: RolesConfig;
  now: Date;
  signer: Signer;
}

/**
 * Records a lead's approval through the gate. Refuses non-leads and the requester (even a lead),
 * and any request that is not pending, approved or failed. A second approval by the same lead
 * changes nothing. A `failed` request approved again goes back to `approved` to retry.
 */
export function approve(request: AccessRequest, by: Decider): ApproveResult {
  const state = effectiveState(request, by.now);
  switch (state) {
    case 'pending':
    case 'approved':
    case 'failed': {
      const decided = decide(
        request.gate,
        { id: request.id, what: 'request' },
        { ...by, decision: 'approve' },
      );
      if (!decided.ok) return decided;
      if (state === 'failed') {
        const { error: _previous, ...rest } = request;
        const detail = request.error === undefined ? undefined : `after ${request.error.code}`;
        return {
          ok: true,
          request: advance(
            rest,
            { gate: decided.gate, state: 'approved' },
            entry(by.now, by.actor.id, 'retry', detail),
          ),
          effects: { alreadyApproved: false, queueProvisioning: true },
        };
      }
      if (decided.outcome === 'unchanged') return unchanged(request);
      const complete = decided.outcome === 'approved';
      const tally = `${approvers(decided.gate).length} of ${decided.gate.required}`;
      return {
        ok: true,
        request: advance(
          request,
          { gate: decided.gate, state: complete ? 'approved' : 'pending' },
          entry(by.now, by.actor.id, complete ? 'approved' : 'approval', tally),
        ),
        effects: { alreadyApproved: false, queueProvisioning: complete },
      };
    }
    case 'provisioning':
    case 'provisioned':
    case 'denied':
    case 'expired':
    case 'revoked':
      return { ok: false, error: refusal(request, state, by, 'approve') };
    default: {
      const unreachable: never = state;
      return unreachable;
    }
  }
}

/** Why `by` cannot decide on a request in `state`: not allowed at all (FORBIDDEN) comes first. */
function refusal(request: AccessRequest, state: RequestState, by: Decider, decision: 'approve' | 'deny') {
  const decided = decide(request.gate, { id: request.id, what: 'request' }, { ...by, decision });
  return !decided.ok && decided.error.code === 'FORBIDDEN' ? decided.error : conflict(request, state);
}

/** A lead denies a pending request through the gate; `reason` is shown to the requester. */
export function deny(request: AccessRequest, reason: string | undefined, by: Decider): Transition {
  const state = effectiveState(request, by.now);
  if (state !== 'pending') return { ok: false, error: refusal(request, state, by, 'deny') };
  const decided = decide(
    request.gate,
    { id: request.id, what: 'request' },
    { ...by, decision: 'deny', ...(reason === undefined ? {} : { reason }) },
  );
  if (!decided.ok) return decided;
  return {
    ok: true,
    request: advance(
      request,
      { gate: decided.gate, state: 'denied' },
      entry(by.now, by.actor.id, 'denied', reason),
    ),
  };
}

/** Expires a pending request once `now` has reached its `pendingUntil`. */
export function expire(request: AccessRequest, now: Date): Transition {
  if (request.state !== 'pending') return { ok: false, error: conflict(request, request.state) };
  if (effectiveState(request, now) !== 'expired') {
    return refuse(
      'CONFLICT',
      `request ${request.id} is pending until ${request.gate.until}; it has not expired`,
    );
  }
  const detail = `not approved by ${request.gate.until}`;
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
 * The provisioning worker's re-check against the records and the current config (see
 * {@link verifyGate}): the request is still what was approved, every approval is signed, from a
 * distinct current lead who is not the requester, and there are enough. Returns the problem in
 * words (e.g. `bob approved it but is not a lead in the current config`), or null.
 */
export function verifyApprovals(
  request: AccessRequest,
  config: { roles: RolesConfig; policy: Pick<PolicyConfig, 'approvals'> },
  signer: Signer,
): string | null {
  if (!request.gate.excluded.includes(request.requester)) return 'its gate does not exclude the requester';
  const needed = requiredApprovals(request.mode, config.policy);
  if (request.gate.required < needed) {
    return `its gate asks for ${request.gate.required} approvals where the policy needs ${needed}`;
  }
  return verifyGate(
    request.gate,
    { id: request.id, what: 'request', digest: requestSubject(request) },
    config.roles,
    signer,
  );
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
      return `pending (${approvers(request.gate).length} of ${request.gate.required} approvals)`;
    case 'approved':
      return 'approved and queued for provisioning';
    case 'provisioning':
      return 'provisioning (its hub is being changed right now)';
    case 'provisioned':
      return `provisioned (peer ${request.peer}${request.address === undefined ? '' : ` at ${request.address}`})`;
    case 'failed':
      return `failed${request.error === undefined ? '' : ` (${request.error.code}: ${request.error.message})`}`;
    case 'denied': {
      const no = denial(request.gate);
      const reason = no?.reason === undefined ? '' : `: "${no.reason}"`;
      return `denied (by ${no?.by ?? 'a lead'}${reason})`;
    }
    case 'expired':
      return `expired (it was not approved by ${request.gate.until})`;
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

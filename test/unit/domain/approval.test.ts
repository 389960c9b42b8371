import { describe, expect, it } from 'vitest';
import { PolicyConfig, RolesConfig } from '../../../src/config/schema.js';
import { TunnelgateError } from '../../../src/core/errors.js';
import type { UserId } from '../../../src/core/ids.js';
import {
  approve,
  type Decider,
  deny,
  effectiveState,
  expire,
  markFailed,
  markProvisioned,
  markProvisioning,
  markRevoked,
  requestGate,
  requiredApprovals,
  verifyApprovals,
} from '../../../src/domain/approval.js';
import { approvers, denial } from '../../../src/domain/gate.js';
import { Actor } from '../../../src/domain/models/command.js';
import { AccessRequest } from '../../../src/domain/models/request.js';
import { hmacSigner } from '../../../src/domain/signer.js';

const NOW = new Date('2025-05-01T10:00:00.000Z');
const LATER = new Date('2025-05-01T11:00:00.000Z');
const roles = RolesConfig.parse({ leads: ['alice', 'bob', 'carol', 'leads-role'], oncall: ['dave'] });

const alice = Actor.parse({ id: 'alice' });
const bob = Actor.parse({ id: 'bob' });
const carol = Actor.parse({ id: 'carol' });
const dave = Actor.parse({ id: 'dave' });
const erin = Actor.parse({ id: 'erin', platformRoles: ['leads-role'] });

const signer = hmacSigner({
  decision: Buffer.alloc(32, 1),
  job: Buffer.alloc(32, 2),
  audit: Buffer.alloc(32, 3),
});
const policy = PolicyConfig.parse({ approvals: { split: 1, full: 2 } });
const config = { roles, policy };

/** A decider at `now` (default NOW). */
function by(actor: Actor, now: Date = NOW): Decider {
  return { actor, roles, now, signer };
}

/** A request whose gate is built as `/vpn request` builds it; `required` defaults to its mode's. */
function request(overrides: Record<string, unknown> = {}, required?: number): AccessRequest {
  const draft = AccessRequest.omit({ gate: true }).parse({
    id: 'r-7k3m9q',
    requester: 'alice',
    device: 'laptop',
    peer: 'alice-laptop',
    hub: 'hub1',
    mode: 'split',
    publicKey: 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=',
    generatedKey: false,
    state: 'pending',
    createdAt: '2025-05-01T09:00:00.000Z',
    history: [{ at: '2025-05-01T09:00:00.000Z', by: 'alice', event: 'requested' }],
    ...overrides,
  });
  const quorum = required ?? requiredApprovals(draft.mode, policy);
  return { ...draft, gate: requestGate(draft, quorum, new Date('2025-05-04T09:00:00.000Z')) };
}

/** `base` approved by `leads` in turn, each through the gate. */
function approvedBy(base: AccessRequest, ...leads: Actor[]): AccessRequest {
  let current = base;
  for (const lead of leads) {
    const step = approve(current, by(lead));
    if (!step.ok) throw step.error;
    current = step.request;
  }
  return current;
}

/** `base` approved by `leads`, then put in `state` as the worker would. */
function inState(state: AccessRequest['state'], base: AccessRequest, ...leads: Actor[]): AccessRequest {
  return { ...approvedBy(base, ...leads), state };
}

/** Runs `fn` and checks that `input` is deep-equal to its state before. */
function unchangedInput<T>(input: AccessRequest, fn: (r: AccessRequest) => T): T {
  const before = structuredClone(input);
  const result = fn(input);
  expect(input).toEqual(before);
  return result;
}

function failure(result: { ok: true } | { ok: false; error: TunnelgateError }): TunnelgateError {
  if (result.ok) throw new Error('expected the transition to be refused');
  return result.error;
}

describe('approve', () => {
  it('approves a split-tunnel request with one lead and queues provisioning', () => {
    const input = request();
    const result = unchangedInput(input, (r) => approve(r, by(bob, NOW)));
    if (!result.ok) throw result.error;
    expect(result.request).not.toBe(input);
    expect(result.request.state).toBe('approved');
    expect(approvers(result.request.gate)).toEqual(['bob']);
    expect(result.effects).toEqual({ alreadyApproved: false, queueProvisioning: true });
    expect(result.request.history.at(-1)).toEqual({
      at: NOW.toISOString(),
      by: 'bob',
      event: 'approved',
      detail: '1 of 1',
    });
  });

  it('refuses self-approval even for a lead', () => {
    const error = failure(unchangedInput(request(), (r) => approve(r, by(alice, NOW))));
    expect(error.code).toBe('FORBIDDEN');
    expect(error.message).toBe('you cannot approve your own request');
  });

  it('refuses a non-lead, including on-call', () => {
    const error = failure(approve(request(), by(dave, NOW)));
    expect(error.code).toBe('FORBIDDEN');
    expect(error.message).toBe('only leads can approve requests');
  });

  it('accepts a lead by platform role', () => {
    const result = approve(request(), by(erin, NOW));
    expect(result.ok && approvers(result.request.gate)).toEqual(['erin']);
  });

  it('needs two distinct approvers for a full tunnel', () => {
    const full = request({ mode: 'full', reason: 'on-call' });
    const first = approve(full, by(bob, NOW));
    if (!first.ok) throw first.error;
    expect(first.request.state).toBe('pending');
    expect(first.effects).toEqual({ alreadyApproved: false, queueProvisioning: false });
    expect(first.request.history.at(-1)).toMatchObject({ event: 'approval', detail: '1 of 2' });

    const again = approve(first.request, by(bob, NOW));
    if (!again.ok) throw again.error;
    expect(again.request.state).toBe('pending');
    expect(approvers(again.request.gate)).toEqual(['bob']);

    const second = approve(first.request, by(carol, NOW));
    if (!second.ok) throw second.error;
    expect(second.request.state).toBe('approved');
    expect(approvers(second.request.gate)).toEqual(['bob', 'carol']);
    expect(second.effects.queueProvisioning).toBe(true);
  });

  it('is idempotent when the same lead approves twice', () => {
    const first = approve(request(), by(bob, NOW));
    if (!first.ok) throw first.error;
    const second = unchangedInput(first.request, (r) => approve(r, by(bob, LATER)));
    if (!second.ok) throw second.error;
    expect(second.effects).toEqual({ alreadyApproved: true, queueProvisioning: false });
    expect(second.request).toEqual(first.request);
    expect(second.request).not.toBe(first.request);
  });

  it('changes nothing when another lead approves an already approved request', () => {
    const approved = approvedBy(request(), bob);
    const result = approve(approved, by(carol, NOW));
    expect(result.ok && result.effects).toEqual({ alreadyApproved: true, queueProvisioning: false });
    expect(result.ok && result.request).toEqual(approved);
  });

  it('refuses a denied request, naming who denied it and why', () => {
    const refused = deny(request(), 'not needed', by(bob));
    if (!refused.ok) throw refused.error;
    const denied = refused.request;
    const error = failure(unchangedInput(denied, (r) => approve(r, by(carol, NOW))));
    expect(error.code).toBe('CONFLICT');
    expect(error.message).toBe('request r-7k3m9q is denied (by bob: "not needed"); nothing was changed');
    expect(error.hint).toContain('/vpn request');
  });

  it('refuses expired, provisioned, provisioning and revoked requests with their state', () => {
    for (const state of ['expired', 'provisioned', 'provisioning', 'revoked'] as const) {
      const error = failure(unchangedInput(request({ state }), (r) => approve(r, by(bob, NOW))));
      expect(error.code).toBe('CONFLICT');
      expect(error.message).toMatch(new RegExp(`^request r-7k3m9q is ${state}\\b.*; nothing was changed$`));
    }
  });

  it('treats a pending request past its gate deadline as expired', () => {
    const stale = request();
    const error = failure(
      unchangedInput(stale, (r) => approve(r, by(bob, new Date('2025-05-04T09:00:00.000Z')))),
    );
    expect(error.code).toBe('CONFLICT');
    expect(error.message).toContain('is expired');
  });

  it('lets a lead re-approve a failed request to retry provisioning', () => {
    const failed = {
      ...inState('failed', request({}, 2), bob),
      error: { code: 'SSH_TIMEOUT' as const, message: 'hub1 did not answer' },
    };
    const result = unchangedInput(failed, (r) => approve(r, by(carol, NOW)));
    if (!result.ok) throw result.error;
    expect(result.request.state).toBe('approved');
    expect(approvers(result.request.gate)).toEqual(['bob', 'carol']);
    expect(result.request.error).toBeUndefined();
    expect('error' in result.request).toBe(false);
    expect(result.effects).toEqual({ alreadyApproved: false, queueProvisioning: true });
    expect(result.request.history.at(-1)).toMatchObject({
      by: 'carol',
      event: 'retry',
      detail: 'after SSH_TIMEOUT',
    });
  });
});

describe('deny', () => {
  it('denies a pending request with a reason', () => {
    const input = request();
    const result = unchangedInput(input, (r) => deny(r, 'not needed', by(bob, NOW)));
    if (!result.ok) throw result.error;
    expect(result.request.state).toBe('denied');
    expect(denial(result.request.gate)).toMatchObject({ by: 'bob', reason: 'not needed' });
    expect(result.request.history.at(-1)).toEqual({
      at: NOW.toISOString(),
      by: 'bob',
      event: 'denied',
      detail: 'not needed',
    });
  });

  it('denies without a reason', () => {
    const result = deny(request(), undefined, by(bob, NOW));
    expect(result.ok && denial(result.request.gate)?.reason).toBeUndefined();
  });

  it('refuses a non-lead', () => {
    const error = failure(deny(request(), undefined, by(dave, NOW)));
    expect(error.code).toBe('FORBIDDEN');
    expect(error.message).toBe('only leads can deny requests');
  });

  it('refuses a request that is not pending', () => {
    const error = failure(deny(inState('approved', request(), carol), undefined, by(bob, NOW)));
    expect(error.code).toBe('CONFLICT');
    expect(error.message).toContain('is approved');
  });
});

describe('expire', () => {
  it('expires a pending request once its gate deadline has passed', () => {
    const result = unchangedInput(request(), (r) => expire(r, new Date('2025-05-05T00:00:00.000Z')));
    if (!result.ok) throw result.error;
    expect(result.request.state).toBe('expired');
    expect(result.request.history.at(-1)).toMatchObject({ by: 'tunnelgate', event: 'expired' });
  });

  it('leaves a request that is not due yet', () => {
    const error = failure(expire(request(), NOW));
    expect(error.code).toBe('CONFLICT');
    expect(error.message).toContain('has not expired');
  });

  it('refuses a request that is no longer pending', () => {
    expect(failure(expire(request({ state: 'approved' }), LATER)).code).toBe('CONFLICT');
  });

  it('reports the effective state of a stale pending request', () => {
    expect(effectiveState(request(), NOW)).toBe('pending');
    expect(effectiveState(request(), new Date('2025-06-01T00:00:00.000Z'))).toBe('expired');
    expect(effectiveState(request({ state: 'provisioned' }), new Date('2025-06-01T00:00:00.000Z'))).toBe(
      'provisioned',
    );
  });
});

describe('provisioning transitions', () => {
  const approved = inState('approved', request(), bob);

  it('walks approved -> provisioning -> provisioned -> revoked, appending history', () => {
    const started = markProvisioning(approved, { address: '10.6.0.7/32', address6: 'fd00:6::7/128' }, NOW);
    if (!started.ok) throw started.error;
    expect(started.request).toMatchObject({
      state: 'provisioning',
      address: '10.6.0.7/32',
      address6: 'fd00:6::7/128',
    });

    const done = markProvisioned(started.request, { at: LATER, expiresAt: '2025-05-01T19:00:00.000Z' });
    if (!done.ok) throw done.error;
    expect(done.request).toMatchObject({
      state: 'provisioned',
      provisionedAt: LATER.toISOString(),
      expiresAt: '2025-05-01T19:00:00.000Z',
    });

    const gone = markRevoked(done.request, 'bob', LATER);
    if (!gone.ok) throw gone.error;
    expect(gone.request.state).toBe('revoked');
    expect(gone.request.history.map((h) => h.event)).toEqual([
      'requested',
      'approved',
      'provisioning',
      'provisioned',
      'revoked',
    ]);
    expect(approved.state).toBe('approved');
  });

  it('records a resumed provisioning attempt', () => {
    const started = markProvisioning(approved, { address: '10.6.0.7/32' }, NOW);
    if (!started.ok) throw started.error;
    const resumed = markProvisioning(started.request, { address: '10.6.0.7/32' }, LATER);
    expect(resumed.ok && resumed.request.history.at(-1)?.detail).toBe('10.6.0.7/32 (resumed)');
  });

  it('records a failure with its serialised error', () => {
    const error = new TunnelgateError('SSH_TIMEOUT', 'hub1 did not answer', { stderrTail: 'secret' });
    const result = unchangedInput(approved, (r) => markFailed(r, error.toJSON(), NOW));
    if (!result.ok) throw result.error;
    expect(result.request.state).toBe('failed');
    expect(result.request.error).toEqual({ code: 'SSH_TIMEOUT', message: 'hub1 did not answer' });
    expect(result.request.history.at(-1)).toMatchObject({
      event: 'failed',
      detail: 'SSH_TIMEOUT: hub1 did not answer',
    });
  });

  it('refuses transitions from the wrong state', () => {
    expect(failure(markProvisioning(request(), { address: '10.6.0.7/32' }, NOW)).code).toBe('CONFLICT');
    expect(failure(markProvisioned(approved, { at: NOW })).code).toBe('CONFLICT');
    expect(
      failure(markFailed(request({ state: 'provisioned' }), { code: 'INTERNAL', message: 'x' }, NOW)).code,
    ).toBe('CONFLICT');
    expect(failure(markRevoked(request(), 'bob', NOW)).code).toBe('CONFLICT');
  });
});

describe('requiredApprovals', () => {
  it('reads split and full from the policy', () => {
    const policy = PolicyConfig.parse({ approvals: { split: 1, full: 3 } });
    expect(requiredApprovals('split', policy)).toBe(1);
    expect(requiredApprovals('full', policy)).toBe(3);
  });
});

describe('verifyApprovals', () => {
  const full = () => request({ mode: 'full', reason: 'on-call' });

  it('accepts distinct current leads that are not the requester', () => {
    expect(verifyApprovals(inState('approved', full(), bob, carol), config, signer)).toBeNull();
  });

  it('refuses a copied approval: the same lead counted twice', () => {
    const once = inState('approved', full(), bob);
    const [decision] = once.gate.decisions;
    if (decision === undefined) throw new Error('no decision');
    const forged = { ...once, gate: { ...once.gate, decisions: [decision, decision] } };
    expect(verifyApprovals(forged, config, signer)).toBe('bob is counted twice as an approver');
  });

  it('refuses an approval written into Redis without the secret', () => {
    const once = inState('approved', full(), bob, carol);
    const forged = {
      ...once,
      gate: {
        ...once.gate,
        decisions: once.gate.decisions.map((d) => (d.by === 'carol' ? { ...d, by: 'dave' as UserId } : d)),
      },
    };
    expect(verifyApprovals(forged as AccessRequest, config, signer)).toBe(
      'the decision of dave does not carry a valid signature',
    );
  });

  it('refuses a gate whose requester was taken off the excluded list', () => {
    const approved = inState('approved', request(), bob);
    const forged = { ...approved, gate: { ...approved.gate, excluded: [] } };
    expect(verifyApprovals(forged, config, signer)).toBe('its gate does not exclude the requester');
  });

  it('refuses a full tunnel whose quorum was lowered to one', () => {
    const forged = inState('approved', request({ mode: 'full', reason: 'x' }, 1), bob);
    expect(verifyApprovals(forged, config, signer)).toBe(
      'its gate asks for 1 approvals where the policy needs 2',
    );
  });

  it('refuses a request whose key was swapped after approval', () => {
    const approved = inState('approved', request(), bob);
    const swapped = {
      ...approved,
      publicKey: 'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=' as AccessRequest['publicKey'],
    };
    expect(verifyApprovals(swapped, config, signer)).toBe('the request changed after it was approved');
  });

  it('finds an approver who is no longer a lead', () => {
    const current = { roles: RolesConfig.parse({ leads: ['bob'] }), policy };
    expect(verifyApprovals(inState('approved', full(), bob, carol), current, signer)).toBe(
      'carol approved it but is not a lead in the current config',
    );
  });

  it('finds too few approvals', () => {
    expect(verifyApprovals(inState('approved', full(), bob), config, signer)).toBe(
      'it has 1 of 2 required approvals',
    );
  });

  it('refuses a denied request', () => {
    const refused = deny(full(), 'no', by(bob));
    if (!refused.ok) throw refused.error;
    expect(verifyApprovals(refused.request, config, signer)).toBe('bob denied it');
  });
});

describe('leads by platform role', () => {
  it('the worker re-check accepts a lead who approved by role, and refuses once the role is no longer a lead', () => {
    const result = approve(request(), by(erin));
    if (!result.ok) throw result.error;
    expect(result.request.gate.decisions[0]?.roles).toEqual(['leads-role']);
    expect(verifyApprovals(result.request, config, signer)).toBeNull();
    const demoted = { roles: RolesConfig.parse({ leads: ['alice', 'bob', 'carol'], oncall: [] }), policy };
    expect(verifyApprovals(result.request, demoted, signer)).toBe(
      'erin approved it but is not a lead in the current config',
    );
  });
});

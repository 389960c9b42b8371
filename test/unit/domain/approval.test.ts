import { describe, expect, it } from 'vitest';
import { PolicyConfig, RolesConfig } from '../../../src/config/schema.js';
import { TunnelgateError } from '../../../src/core/errors.js';
import {
  approve,
  deny,
  effectiveState,
  expire,
  markFailed,
  markProvisioned,
  markProvisioning,
  markRevoked,
  requiredApprovals,
  verifyApprovals,
} from '../../../src/domain/approval.js';
import { Actor } from '../../../src/domain/models/command.js';
import { AccessRequest } from '../../../src/domain/models/request.js';

const NOW = new Date('2025-05-01T10:00:00.000Z');
const LATER = new Date('2025-05-01T11:00:00.000Z');
const roles = RolesConfig.parse({ leads: ['alice', 'bob', 'carol', 'leads-role'], oncall: ['dave'] });

const alice = Actor.parse({ id: 'alice' });
const bob = Actor.parse({ id: 'bob' });
const carol = Actor.parse({ id: 'carol' });
const dave = Actor.parse({ id: 'dave' });
const erin = Actor.parse({ id: 'erin', platformRoles: ['leads-role'] });

function request(overrides: Record<string, unknown> = {}): AccessRequest {
  return AccessRequest.parse({
    id: 'r-7k3m9q',
    requester: 'alice',
    device: 'laptop',
    peer: 'alice-laptop',
    hub: 'hub1',
    mode: 'split',
    publicKey: 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=',
    generatedKey: false,
    state: 'pending',
    approvals: [],
    required: 1,
    createdAt: '2025-05-01T09:00:00.000Z',
    pendingUntil: '2025-05-04T09:00:00.000Z',
    history: [{ at: '2025-05-01T09:00:00.000Z', by: 'alice', event: 'requested' }],
    ...overrides,
  });
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
    const result = unchangedInput(input, (r) => approve(r, bob, roles, NOW));
    if (!result.ok) throw result.error;
    expect(result.request).not.toBe(input);
    expect(result.request.state).toBe('approved');
    expect(result.request.approvals).toEqual(['bob']);
    expect(result.effects).toEqual({ alreadyApproved: false, queueProvisioning: true });
    expect(result.request.history.at(-1)).toEqual({
      at: NOW.toISOString(),
      by: 'bob',
      event: 'approved',
      detail: '1 of 1',
    });
  });

  it('refuses self-approval even for a lead', () => {
    const error = failure(unchangedInput(request(), (r) => approve(r, alice, roles, NOW)));
    expect(error.code).toBe('FORBIDDEN');
    expect(error.message).toBe('you cannot approve your own request');
  });

  it('refuses a non-lead, including on-call', () => {
    const error = failure(approve(request(), dave, roles, NOW));
    expect(error.code).toBe('FORBIDDEN');
    expect(error.message).toBe('only leads can approve requests');
  });

  it('accepts a lead by platform role', () => {
    const result = approve(request(), erin, roles, NOW);
    expect(result.ok && result.request.approvals).toEqual(['erin']);
  });

  it('needs two distinct approvers for a full tunnel', () => {
    const full = request({ mode: 'full', required: 2, reason: 'on-call' });
    const first = approve(full, bob, roles, NOW);
    if (!first.ok) throw first.error;
    expect(first.request.state).toBe('pending');
    expect(first.effects).toEqual({ alreadyApproved: false, queueProvisioning: false });
    expect(first.request.history.at(-1)).toMatchObject({ event: 'approval', detail: '1 of 2' });

    const again = approve(first.request, bob, roles, NOW);
    if (!again.ok) throw again.error;
    expect(again.request.state).toBe('pending');
    expect(again.request.approvals).toEqual(['bob']);

    const second = approve(first.request, carol, roles, NOW);
    if (!second.ok) throw second.error;
    expect(second.request.state).toBe('approved');
    expect(second.request.approvals).toEqual(['bob', 'carol']);
    expect(second.effects.queueProvisioning).toBe(true);
  });

  it('is idempotent when the same lead approves twice', () => {
    const first = approve(request(), bob, roles, NOW);
    if (!first.ok) throw first.error;
    const second = unchangedInput(first.request, (r) => approve(r, bob, roles, LATER));
    if (!second.ok) throw second.error;
    expect(second.effects).toEqual({ alreadyApproved: true, queueProvisioning: false });
    expect(second.request).toEqual(first.request);
    expect(second.request).not.toBe(first.request);
  });

  it('changes nothing when another lead approves an already approved request', () => {
    const approved = request({ state: 'approved', approvals: ['bob'] });
    const result = approve(approved, carol, roles, NOW);
    expect(result.ok && result.effects).toEqual({ alreadyApproved: true, queueProvisioning: false });
    expect(result.ok && result.request).toEqual(approved);
  });

  it('refuses a denied request, naming who denied it and why', () => {
    const denied = request({ state: 'denied', deniedBy: 'bob', denyReason: 'not needed' });
    const error = failure(unchangedInput(denied, (r) => approve(r, carol, roles, NOW)));
    expect(error.code).toBe('CONFLICT');
    expect(error.message).toBe('request r-7k3m9q is denied (by bob: "not needed"); nothing was changed');
    expect(error.hint).toContain('/vpn request');
  });

  it('refuses expired, provisioned, provisioning and revoked requests with their state', () => {
    for (const state of ['expired', 'provisioned', 'provisioning', 'revoked'] as const) {
      const error = failure(unchangedInput(request({ state }), (r) => approve(r, bob, roles, NOW)));
      expect(error.code).toBe('CONFLICT');
      expect(error.message).toMatch(new RegExp(`^request r-7k3m9q is ${state}\\b.*; nothing was changed$`));
    }
  });

  it('treats a pending request past pendingUntil as expired', () => {
    const stale = request();
    const error = failure(
      unchangedInput(stale, (r) => approve(r, bob, roles, new Date('2025-05-04T09:00:00.000Z'))),
    );
    expect(error.code).toBe('CONFLICT');
    expect(error.message).toContain('is expired');
  });

  it('lets a lead re-approve a failed request to retry provisioning', () => {
    const failed = request({
      state: 'failed',
      approvals: ['bob'],
      error: { code: 'SSH_TIMEOUT', message: 'hub1 did not answer' },
    });
    const result = unchangedInput(failed, (r) => approve(r, carol, roles, NOW));
    if (!result.ok) throw result.error;
    expect(result.request.state).toBe('approved');
    expect(result.request.approvals).toEqual(['bob', 'carol']);
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
    const result = unchangedInput(input, (r) => deny(r, bob, 'not needed', roles, NOW));
    if (!result.ok) throw result.error;
    expect(result.request).toMatchObject({ state: 'denied', deniedBy: 'bob', denyReason: 'not needed' });
    expect(result.request.history.at(-1)).toEqual({
      at: NOW.toISOString(),
      by: 'bob',
      event: 'denied',
      detail: 'not needed',
    });
  });

  it('denies without a reason', () => {
    const result = deny(request(), bob, undefined, roles, NOW);
    expect(result.ok && 'denyReason' in result.request).toBe(false);
  });

  it('refuses a non-lead', () => {
    const error = failure(deny(request(), dave, undefined, roles, NOW));
    expect(error.code).toBe('FORBIDDEN');
    expect(error.message).toBe('only leads can deny requests');
  });

  it('refuses a request that is not pending', () => {
    const error = failure(deny(request({ state: 'approved' }), bob, undefined, roles, NOW));
    expect(error.code).toBe('CONFLICT');
    expect(error.message).toContain('is approved');
  });
});

describe('expire', () => {
  it('expires a pending request once pendingUntil has passed', () => {
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
  const approved = request({ state: 'approved', approvals: ['bob'] });

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
  const withApprovals = (approvals: string[], required = 2) =>
    request({ state: 'approved', approvals, required });

  it('accepts distinct current leads that are not the requester', () => {
    expect(verifyApprovals(withApprovals(['bob', 'carol']), roles)).toBeNull();
  });

  it('finds a duplicate approver', () => {
    expect(verifyApprovals(withApprovals(['bob', 'bob']), roles)).toBe('bob is counted twice as an approver');
  });

  it('finds the requester among the approvers', () => {
    expect(verifyApprovals(withApprovals(['alice', 'bob']), roles)).toBe('alice approved their own request');
  });

  it('finds an approver who is no longer a lead', () => {
    const current = RolesConfig.parse({ leads: ['bob'] });
    expect(verifyApprovals(withApprovals(['bob', 'carol']), current)).toBe(
      'carol approved it but is not a lead in the current config',
    );
  });

  it('finds too few approvals', () => {
    expect(verifyApprovals(withApprovals(['bob']), roles)).toBe('it has 1 of 2 required approvals');
  });
});

describe('leads by platform role', () => {
  it('the worker re-check accepts a lead who approved by role, and refuses once the role is no longer a lead', () => {
    const result = approve(request(), erin, roles, NOW);
    if (!result.ok) throw result.error;
    expect(result.request.approverRoles).toEqual({ erin: ['leads-role'] });
    expect(verifyApprovals(result.request, roles)).toBeNull();
    const demoted = RolesConfig.parse({ leads: ['alice', 'bob', 'carol'], oncall: [] });
    expect(verifyApprovals(result.request, demoted)).toBe(
      'erin approved it but is not a lead in the current config',
    );
  });
});

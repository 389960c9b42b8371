import { describe, expect, it } from 'vitest';
import { RolesConfig } from '../../../src/config/schema.js';
import { UserId } from '../../../src/core/ids.js';
import {
  decide,
  type Gate,
  gateState,
  openGate,
  subjectDigest,
  verifyGate,
} from '../../../src/domain/gate.js';
import { Actor } from '../../../src/domain/models/command.js';
import { hmacSigner } from '../../../src/domain/signer.js';

const NOW = new Date('2026-01-01T10:00:00.000Z');
const roles = RolesConfig.parse({ leads: ['bob', 'carol'] });
const signer = hmacSigner({
  decision: Buffer.alloc(32, 7),
  job: Buffer.alloc(32, 8),
  audit: Buffer.alloc(32, 9),
});
const bob = Actor.parse({ id: 'bob' });
const carol = Actor.parse({ id: 'carol' });

const digest = subjectDigest({ kind: 'fix', hub: 'hub1', action: 'chmod 600 /etc/wireguard/wg0.conf' });
const fresh = (required = 1): Gate =>
  openGate({
    required,
    excluded: [UserId.parse('alice')],
    subject: digest,
    until: '2026-01-02T10:00:00.000Z',
  });

function approvedBy(gate: Gate, id: string, actor: Actor): Gate {
  const result = decide(gate, { id, what: 'fix' }, { actor, decision: 'approve', roles, now: NOW, signer });
  if (!result.ok) throw result.error;
  return result.gate;
}

describe('gate', () => {
  it('opens, records approvals from distinct leads, and closes at its quorum', () => {
    const one = approvedBy(fresh(2), 'f-1', bob);
    expect(gateState(one, NOW)).toBe('open');
    const two = approvedBy(one, 'f-1', carol);
    expect(gateState(two, NOW)).toBe('approved');
    expect(verifyGate(two, { id: 'f-1', what: 'fix', digest }, roles, signer)).toBeNull();
  });

  it('lapses after its deadline: no decision is taken then', () => {
    const late = new Date('2026-01-03T00:00:00.000Z');
    expect(gateState(fresh(), late)).toBe('expired');
    const result = decide(
      fresh(),
      { id: 'f-1', what: 'fix' },
      { actor: bob, decision: 'approve', roles, now: late, signer },
    );
    expect(result.ok).toBe(false);
  });

  it('refuses a decision replayed from another gate with the same subject', () => {
    const elsewhere = approvedBy(fresh(), 'f-other', bob);
    expect(verifyGate(elsewhere, { id: 'f-1', what: 'fix', digest }, roles, signer)).toBe(
      'the decision of bob does not carry a valid signature',
    );
  });

  it('refuses an approval once the proposed action is changed (frozen action digest)', () => {
    const approved = approvedBy(fresh(), 'f-1', bob);
    const other = subjectDigest({ kind: 'fix', hub: 'hub1', action: 'rm -rf /' });
    expect(verifyGate(approved, { id: 'f-1', what: 'fix', digest: other }, roles, signer)).toBe(
      'the fix changed after it was approved',
    );
  });

  it('refuses a gate whose quorum was lowered after a decision was signed', () => {
    const one = approvedBy(fresh(2), 'f-1', bob);
    const lowered = { ...one, required: 1 };
    expect(verifyGate(lowered, { id: 'f-1', what: 'fix', digest }, roles, signer)).toBe(
      'the decision of bob does not carry a valid signature',
    );
  });

  it('refuses an excluded person and a non-lead when they decide', () => {
    const alice = Actor.parse({ id: 'alice' });
    const leads = RolesConfig.parse({ leads: ['alice', 'bob'] });
    const own = decide(
      fresh(),
      { id: 'f-1', what: 'fix' },
      { actor: alice, decision: 'approve', roles: leads, now: NOW, signer },
    );
    expect(!own.ok && own.error.message).toBe('you cannot approve your own fix');
    const dave = Actor.parse({ id: 'dave' });
    const stranger = decide(
      fresh(),
      { id: 'f-1', what: 'fix' },
      { actor: dave, decision: 'deny', roles, now: NOW, signer },
    );
    expect(!stranger.ok && stranger.error.message).toBe('only leads can deny fixes');
  });
});

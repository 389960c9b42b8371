/**
 * Break-glass grants through the gate: one signed decision with its basis, which the worker's
 * re-check accepts only for exactly the granted request, by its requester, while fresh, and while
 * the basis still holds in the config; and which never passes as a lead approval.
 */
import { describe, expect, it } from 'vitest';
import { TunnelgateConfig } from '../../../src/config/schema.js';
import { breakGlassGate, verifyBreakGlass } from '../../../src/domain/break-glass.js';
import { verifyGate } from '../../../src/domain/gate.js';
import { Actor } from '../../../src/domain/models/command.js';
import type { AccessRequest } from '../../../src/domain/models/request.js';
import { hmacSigner } from '../../../src/domain/signer.js';
import { generateKeyPair } from '../../../src/wg/keys.js';

const NOW = new Date('2026-01-01T10:00:00.000Z');
const signer = hmacSigner({
  decision: Buffer.alloc(32, 7),
  job: Buffer.alloc(32, 8),
  audit: Buffer.alloc(32, 9),
});
const config = TunnelgateConfig.parse({
  hubs: [
    {
      name: 'hub1',
      host: 'h',
      user: 'root',
      privateKeyPath: '/k',
      hostKey: 'ssh-ed25519 AAAA',
      endpoint: 'vpn.example.com:51820',
      subnet: '10.6.0.0/24',
    },
  ],
  roles: { leads: ['alice'], oncall: ['frank'] },
  oncall: { provider: 'pagerduty', schedules: ['S1'] },
});
const carol = Actor.parse({ id: 'carol' });

function grant(
  by: Actor,
  basis: { kind: 'oncall' | 'lead'; source: string },
  changes: Partial<AccessRequest> = {},
) {
  const draft = {
    id: 'r-abc123',
    requester: by.id,
    device: 'bg-abc123',
    peer: `${by.id}-bg-abc123`,
    hub: 'hub1',
    mode: 'split',
    publicKey: generateKeyPair().publicKey,
    generatedKey: true,
    forMs: 4 * 3_600_000,
    state: 'approved',
    createdAt: NOW.toISOString(),
    breakGlass: { incident: { provider: 'pagerduty', id: 'PT1', title: 'db', url: null }, basis: basis.kind },
    history: [],
    ...changes,
  } as Omit<AccessRequest, 'gate'>;
  const gate = breakGlassGate(draft, { actor: by, basis: { ...basis, incident: 'PT1' }, now: NOW, signer });
  return { ...draft, gate } as AccessRequest;
}

describe('break-glass grants', () => {
  it('holds for the granted request, on call by the provider or the static list, or a lead', () => {
    expect(
      verifyBreakGlass(grant(carol, { kind: 'oncall', source: 'pagerduty' }), config, signer, NOW),
    ).toBeNull();
    expect(
      verifyBreakGlass(
        grant(Actor.parse({ id: 'frank' }), { kind: 'oncall', source: 'static' }),
        config,
        signer,
        NOW,
      ),
    ).toBeNull();
    expect(
      verifyBreakGlass(
        grant(Actor.parse({ id: 'alice' }), { kind: 'lead', source: 'roles' }),
        config,
        signer,
        NOW,
      ),
    ).toBeNull();
  });

  it('refuses a request changed after the grant (another hub, longer, full tunnel)', () => {
    const request = grant(carol, { kind: 'oncall', source: 'pagerduty' });
    for (const changed of [
      { forMs: 8 * 3_600_000 },
      { mode: 'full' as const },
      { peer: 'carol-x' as AccessRequest['peer'] },
    ]) {
      expect(verifyBreakGlass({ ...request, ...changed }, config, signer, NOW)).toMatch(
        /changed after it was granted/,
      );
    }
  });

  it('refuses a basis that no longer holds, and a grant too old to provision', () => {
    const noLead = grant(carol, { kind: 'lead', source: 'roles' });
    expect(verifyBreakGlass(noLead, config, signer, NOW)).toMatch(/carol is not a lead/);
    const notStatic = grant(carol, { kind: 'oncall', source: 'static' });
    expect(verifyBreakGlass(notStatic, config, signer, NOW)).toMatch(/not in roles.oncall/);
    const other = grant(carol, { kind: 'oncall', source: 'opsgenie' });
    expect(verifyBreakGlass(other, config, signer, NOW)).toMatch(/no longer the on-call provider/);
    const later = new Date(NOW.getTime() + 16 * 60_000);
    expect(
      verifyBreakGlass(grant(carol, { kind: 'oncall', source: 'pagerduty' }), config, signer, later),
    ).toMatch(/too old/);
  });

  it('refuses a grant over policy.breakGlass.max, and a forged decision', () => {
    expect(
      verifyBreakGlass(
        grant(carol, { kind: 'oncall', source: 'pagerduty' }, { forMs: 13 * 3_600_000 }),
        config,
        signer,
        NOW,
      ),
    ).toMatch(/policy.breakGlass.max/);
    const request = grant(carol, { kind: 'oncall', source: 'pagerduty' });
    const [d] = request.gate.decisions;
    const forged = {
      ...request,
      gate: { ...request.gate, decisions: [{ ...d, at: '2026-01-01T10:01:00.000Z' }] },
    } as AccessRequest;
    expect(verifyBreakGlass(forged, config, signer, NOW)).toMatch(/valid signature/);
  });

  it('never counts as an approval of the ordinary gate', () => {
    const request = grant(Actor.parse({ id: 'alice' }), { kind: 'lead', source: 'roles' });
    const problem = verifyGate(
      request.gate,
      { id: request.id, what: 'request', digest: request.gate.subject },
      config.roles,
      signer,
    );
    expect(problem).toMatch(/granted it on a basis, which is no approval/);
  });
});

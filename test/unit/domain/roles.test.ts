import { describe, expect, it } from 'vitest';
import { RolesConfig } from '../../../src/config/schema.js';
import { Actor } from '../../../src/domain/models/command.js';
import { canDiagnose, isLead, isLeadId, leadIds, rolesOf } from '../../../src/domain/roles.js';

const roles = RolesConfig.parse({ leads: ['alice', '900000000000000001', 'alice'], oncall: ['bob'] });

describe('rolesOf', () => {
  it('makes everyone a member', () => {
    expect(rolesOf(Actor.parse({ id: 'zed' }), roles)).toEqual(new Set(['member']));
  });

  it('finds leads and on-call engineers by user id', () => {
    expect(rolesOf(Actor.parse({ id: 'alice' }), roles)).toEqual(new Set(['member', 'lead']));
    expect(rolesOf(Actor.parse({ id: 'bob' }), roles)).toEqual(new Set(['member', 'oncall']));
  });

  it('finds a lead by platform role id', () => {
    const actor = Actor.parse({ id: '123456789012345678', platformRoles: ['5', '900000000000000001'] });
    expect(rolesOf(actor, roles).has('lead')).toBe(true);
  });

  it('holds both roles when listed in both', () => {
    const both = RolesConfig.parse({ leads: ['carol'], oncall: ['carol'] });
    expect(rolesOf(Actor.parse({ id: 'carol' }), both)).toEqual(new Set(['member', 'lead', 'oncall']));
  });
});

describe('isLead and canDiagnose', () => {
  it('lets leads and on-call diagnose, but only leads lead', () => {
    const alice = Actor.parse({ id: 'alice' });
    const bob = Actor.parse({ id: 'bob' });
    const zed = Actor.parse({ id: 'zed' });
    expect([isLead(alice, roles), isLead(bob, roles), isLead(zed, roles)]).toEqual([true, false, false]);
    expect([canDiagnose(alice, roles), canDiagnose(bob, roles), canDiagnose(zed, roles)]).toEqual([
      true,
      true,
      false,
    ]);
  });

  it('does not match ids by prefix or case', () => {
    expect(isLead(Actor.parse({ id: 'Alice' }), roles)).toBe(false);
    expect(isLead(Actor.parse({ id: 'alice2' }), roles)).toBe(false);
  });
});

describe('lead id helpers', () => {
  it('lists configured lead ids once each', () => {
    expect(leadIds(roles)).toEqual(['alice', '900000000000000001']);
  });

  it('checks a stored user id against the lead list', () => {
    expect(isLeadId('alice', roles)).toBe(true);
    expect(isLeadId('bob', roles)).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import {
  parseProgramDigests,
  programDigestsStep,
  programDrift,
} from '../../../../src/hub/facts/hub-programs.js';
import { runAudit } from '../../../../src/runbooks/hardening.js';
import { facts, probedPeer, results } from '../../runbooks/fixtures.js';

// Captured: sha256sum of two installed programs and one that is not there (exit 1).
const captured = results('programs').programs;
const CHECK = '8035ac436714fa3fd268585860f1c5fb9e6b648367e75e9214a186d97a598fb3';
const DUMP = 'de49b745d3f253161353d126afc8a571011aa0649b96c451825261ea40d45a9b';

describe('the installed hub programs', () => {
  it('reads digests by program name, leaving out a file sha256sum could not read', () => {
    expect(captured?.exitCode).toBe(1);
    expect(parseProgramDigests(captured)).toEqual(
      new Map([
        ['tunnelgate-check', CHECK],
        ['tunnelgate-dump', DUMP],
      ]),
    );
    expect(
      parseProgramDigests({ stdout: '', stderr: 'sh: 1: sha256sum: not found', exitCode: 127 }),
    ).toBeNull();
    expect(programDigestsStep(['tunnelgate-dump']).argv).toEqual([
      'sha256sum',
      '--',
      '/usr/local/lib/tunnelgate/tunnelgate-dump',
    ]);
  });

  it('tells missing programs from changed ones', () => {
    const expected = new Map([
      ['tunnelgate-set-expires', 'a'.repeat(64)],
      ['tunnelgate-dump', 'b'.repeat(64)],
      ['tunnelgate-check', CHECK],
    ]);
    expect(programDrift(expected, parseProgramDigests(captured) ?? new Map())).toEqual({
      missing: ['tunnelgate-set-expires'],
      changed: ['tunnelgate-dump'],
    });
  });

  it('is an audit finding that says to apply the bootstrap again, and passes when every file matches', () => {
    const installed = parseProgramDigests(captured) ?? new Map();
    const audit = (expected: Map<string, string>) =>
      runAudit(
        { ...facts('healthy'), programs: { expected, installed } },
        [probedPeer('healthy')],
        '2025-01-01T00:00:00.000Z',
      );
    const stale = audit(
      new Map([
        ['tunnelgate-check', CHECK],
        ['tunnelgate-dump', 'b'.repeat(64)],
        ['tunnelgate-set-expires', 'a'.repeat(64)],
      ]),
    );
    const [found] = stale.findings;
    expect(stale.findings).toHaveLength(1);
    expect(found).toMatchObject({ check: 'hub-programs', severity: 'high' });
    expect(found?.title).toBe("1 of Tunnelgate's hub programs missing, 1 not this version's");
    expect(found?.evidence).toEqual([
      'missing: /usr/local/lib/tunnelgate/tunnelgate-set-expires',
      "differs from this Tunnelgate's: /usr/local/lib/tunnelgate/tunnelgate-dump",
    ]);
    expect(found?.fix).toMatch(/^apply the bootstrap again \(tunnelgate hub bootstrap hub1 /);
    expect(found?.action).toBeUndefined();

    const current = audit(new Map([...installed]));
    expect(current.findings).toEqual([]);
    expect(current.passed).toContain('hub-programs');
  });
});

/**
 * Gates for rendering tests: what a stored request's gate looks like to an adapter. Their MACs are
 * placeholders (renderers never verify); tests of the gate itself sign for real (test/unit/domain).
 */
import { Gate } from '../../src/domain/gate.js';

/** A gate needing `required` approvals, open until `until`, approved by `approvedBy` so far. */
export function displayGate(input: {
  required: number;
  until: string;
  approvedBy?: string[];
  deniedBy?: { by: string; reason?: string };
  excluded?: string[];
}): Gate {
  const at = '2025-01-01T00:00:00.000Z';
  const mac = '0'.repeat(64);
  const approvals = (input.approvedBy ?? []).map((by) => ({ by, decision: 'approve', at, roles: [], mac }));
  const denials =
    input.deniedBy === undefined ? [] : [{ ...input.deniedBy, decision: 'deny', at, roles: [], mac }];
  return Gate.parse({
    required: input.required,
    excluded: input.excluded ?? [],
    subject: 'a'.repeat(64),
    until: input.until,
    decisions: [...approvals, ...denials],
  });
}

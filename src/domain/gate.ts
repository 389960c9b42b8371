/**
 * The approval gate, the one place that decides whether a power may be used: access requests,
 * extensions, fixes, hub bootstraps, key rotations with a key the owner did not bring, and
 * whatever comes next. A gate needs `required` approvals from distinct leads, never from the
 * people it excludes (the asker, the owner, the proposer), before `until`; one denial closes it.
 *
 * Every decision carries a MAC over the gate's id, the digest of exactly what is decided, the
 * decider, the decision and its time, made with the deployment secret: a worker re-checks the
 * gate with {@link verifyGate} (MACs, distinct deciders, still leads now, the same subject) before
 * it acts, so neither a forged Redis record nor a changed subject passes.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { RolesConfig } from '../config/schema.js';
import { TunnelgateError } from '../core/errors.js';
import { UserId } from '../core/ids.js';
import type { Actor } from './models/command.js';
import { isLead, isLeadId } from './roles.js';
import { canonicalJson, type Signer, verifyMac } from './signer.js';

const Hex64 = z.string().regex(/^[0-9a-f]{64}$/);

/** One decision on a gate. */
export const Decision = z.object({
  by: UserId,
  decision: z.enum(['approve', 'deny']),
  at: z.iso.datetime(),
  /** The platform roles (e.g. Discord guild roles) the decider held, so a lead by role re-checks. */
  roles: z.array(z.string()).default([]),
  /** Why, for a denial; shown to the asker. */
  reason: z.string().max(300).optional(),
  /** Set on a grant that needs no approvers (break-glass): why the decider may decide alone. */
  basis: z
    .object({ kind: z.enum(['oncall', 'lead']), source: z.string().max(32), incident: z.string().max(64) })
    .optional(),
  mac: Hex64,
});
export type Decision = z.infer<typeof Decision>;
/** The recorded basis of a grant without approvers. */
export type Basis = NonNullable<Decision['basis']>;

/** A gate as stored inside the record it guards. */
export const Gate = z.object({
  /** Distinct lead approvals needed. */
  required: z.number().int().min(1),
  /** Who may never decide. */
  excluded: z.array(UserId),
  /** Digest of what is decided ({@link subjectDigest}); decisions are bound to it. */
  subject: Hex64,
  /** Undecided after this (ISO), the gate has lapsed. */
  until: z.iso.datetime(),
  decisions: z.array(Decision),
});
export type Gate = z.infer<typeof Gate>;

/** open -> approved | denied; open past `until` -> expired. */
export type GateState = 'open' | 'approved' | 'denied' | 'expired';

/** What the gate guards, for messages: `request`, `extension`, `fix`… */
export interface GateSubject {
  id: string;
  what: string;
}

/** The outcome of {@link decide}: the new gate and what happened. */
export type DecideResult =
  | { ok: true; gate: Gate; outcome: 'recorded' | 'approved' | 'denied' | 'unchanged' }
  | { ok: false; error: TunnelgateError };

/** sha256 (hex) of the canonical JSON of what a gate decides on. */
export function subjectDigest(subject: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(subject)).digest('hex');
}

/** A new, undecided gate. */
export function openGate(input: Omit<Gate, 'decisions'>): Gate {
  return Gate.parse({ ...input, excluded: [...new Set(input.excluded)], decisions: [] });
}

/** Who approved, in order. */
export function approvers(gate: Gate): UserId[] {
  return gate.decisions.filter((d) => d.decision === 'approve').map((d) => d.by);
}

/** The denial, if any. */
export function denial(gate: Gate): Decision | undefined {
  return gate.decisions.find((d) => d.decision === 'deny');
}

/** The gate's state as of `now`. */
export function gateState(gate: Gate, now: Date): GateState {
  if (denial(gate) !== undefined) return 'denied';
  if (new Set(approvers(gate)).size >= gate.required) return 'approved';
  return now.getTime() >= Date.parse(gate.until) ? 'expired' : 'open';
}

/** What a decision's MAC covers: the gate's terms (subject, quorum, exclusions, deadline) and the decision. */
function macText(subject: GateSubject, gate: Gate, d: Omit<Decision, 'mac'>): string {
  const terms = [
    subject.id,
    gate.subject,
    String(gate.required),
    [...gate.excluded].sort().join(','),
    gate.until,
  ];
  const basis = d.basis === undefined ? [] : [canonicalJson(d.basis)];
  return [...terms, d.by, d.decision, d.at, d.roles.join(','), d.reason ?? '', ...basis].join('\n');
}

/**
 * Grants on a recorded basis, without approvers (break-glass): one signed decision by the asker,
 * whose basis (on call now, or a lead, for an incident) the caller has established. The worker
 * re-checks it with {@link verifyBasis}, never with {@link verifyGate}, which refuses it.
 */
export function grantOnBasis(
  gate: Gate,
  subject: GateSubject,
  input: { actor: Actor; basis: Basis; now: Date; signer: Signer },
): Gate {
  const unsigned = {
    by: input.actor.id,
    decision: 'approve' as const,
    at: input.now.toISOString(),
    roles: [...input.actor.platformRoles],
    basis: input.basis,
  };
  const decision = Decision.parse({
    ...unsigned,
    mac: input.signer.mac('decision', macText(subject, gate, unsigned)),
  });
  return { ...gate, decisions: [decision] };
}

/**
 * The worker's check of a {@link grantOnBasis} gate: the same subject, exactly one signed decision
 * with a basis, made before the gate lapsed. Returns that decision (for the caller to re-check its
 * basis against the config in force), or the problem in words.
 */
export function verifyBasis(
  gate: Gate,
  subject: GateSubject & { digest: string },
  signer: Signer,
): Decision | string {
  if (gate.subject !== subject.digest) return `the ${subject.what} changed after it was granted`;
  const [d, ...more] = gate.decisions;
  if (d === undefined || more.length > 0 || gate.required !== 1) return 'it is not a single-decision grant';
  const { mac, ...unsigned } = d;
  if (!verifyMac(signer, 'decision', macText(subject, gate, unsigned), mac)) {
    return `the grant to ${d.by} does not carry a valid signature`;
  }
  if (d.basis === undefined || d.decision !== 'approve') return 'the grant records no basis';
  if (Date.parse(d.at) > Date.parse(gate.until)) return 'it was granted after its gate lapsed';
  return d;
}

/**
 * Records `actor`'s decision. Refuses (FORBIDDEN) non-leads and excluded people, and (CONFLICT) a
 * gate that is no longer open; a second approval by the same lead changes nothing.
 */
export function decide(
  gate: Gate,
  subject: GateSubject,
  input: {
    actor: Actor;
    decision: 'approve' | 'deny';
    reason?: string;
    roles: RolesConfig;
    now: Date;
    signer: Signer;
  },
): DecideResult {
  const verb = input.decision;
  if (!isLead(input.actor, input.roles)) {
    return refuse('FORBIDDEN', `only leads can ${verb} ${plural(subject.what)}`, `ask a lead to ${verb} it`);
  }
  if (gate.excluded.includes(input.actor.id)) {
    return refuse(
      'FORBIDDEN',
      `you cannot ${verb} your own ${subject.what}`,
      `another lead has to ${verb} it`,
    );
  }
  const state = gateState(gate, input.now);
  if (state === 'approved' && verb === 'approve') return { ok: true, gate, outcome: 'unchanged' };
  if (state !== 'open') {
    return refuse('CONFLICT', `${subject.what} ${subject.id} is already ${state}; nothing was changed`);
  }
  if (verb === 'approve' && approvers(gate).includes(input.actor.id)) {
    return { ok: true, gate, outcome: 'unchanged' };
  }
  const unsigned = {
    by: input.actor.id,
    decision: verb,
    at: input.now.toISOString(),
    roles: [...input.actor.platformRoles],
    ...(input.reason === undefined ? {} : { reason: input.reason }),
  };
  const decision = Decision.parse({
    ...unsigned,
    mac: input.signer.mac('decision', macText(subject, gate, unsigned)),
  });
  const next = { ...gate, decisions: [...gate.decisions, decision] };
  const after = gateState(next, input.now);
  const outcome = after === 'approved' ? 'approved' : after === 'denied' ? 'denied' : 'recorded';
  return { ok: true, gate: next, outcome };
}

/**
 * The worker's re-check before it uses the power: the subject is still `subject.digest`, every
 * decision's MAC is valid, deciders are distinct, none is excluded, each is a lead in the
 * current config (by id or by a platform role it held), nobody denied, and there are at least
 * `required` approvals. Returns the problem in words, or null when the gate holds.
 */
export function verifyGate(
  gate: Gate,
  subject: GateSubject & { digest: string },
  roles: RolesConfig,
  signer: Signer,
): string | null {
  if (gate.subject !== subject.digest) return `the ${subject.what} changed after it was approved`;
  const seen = new Set<string>();
  for (const d of gate.decisions) {
    const { mac, ...unsigned } = d;
    if (!verifyMac(signer, 'decision', macText(subject, gate, unsigned), mac)) {
      return `the decision of ${d.by} does not carry a valid signature`;
    }
    if (d.decision === 'deny') return `${d.by} denied it`;
    if (d.basis !== undefined) return `${d.by} granted it on a basis, which is no approval`;
    if (Date.parse(d.at) > Date.parse(gate.until)) return `${d.by} approved it after the gate lapsed`;
    if (seen.has(d.by)) return `${d.by} is counted twice as an approver`;
    seen.add(d.by);
    if (gate.excluded.includes(d.by)) return `${d.by} approved their own ${subject.what}`;
    if (!isLeadId(d.by, roles) && !d.roles.some((role) => isLeadId(role, roles))) {
      return `${d.by} approved it but is not a lead in the current config`;
    }
  }
  if (seen.size < gate.required) return `it has ${seen.size} of ${gate.required} required approvals`;
  return null;
}

function plural(noun: string): string {
  return /(s|x)$/.test(noun) ? `${noun}es` : `${noun}s`;
}

function refuse(code: 'FORBIDDEN' | 'CONFLICT', message: string, hint?: string): DecideResult {
  return { ok: false, error: new TunnelgateError(code, message, hint === undefined ? {} : { hint }) };
}

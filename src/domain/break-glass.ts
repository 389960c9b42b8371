/**
 * Break-glass grants through the gate: an on-call engineer (or a lead) gets time-bound access at
 * once for an open incident. The grant is one signed decision with its basis (see
 * {@link grantOnBasis}); the provisioning worker re-checks it here against the config in force.
 */
import type { TunnelgateConfig } from '../config/schema.js';
import { requestSubject } from './approval.js';
import { type Basis, type Gate, grantOnBasis, openGate, subjectDigest, verifyBasis } from './gate.js';
import type { Actor } from './models/command.js';
import type { AccessRequest } from './models/request.js';
import { isLead, rolesOf } from './roles.js';
import type { Signer } from './signer.js';

/** A grant must be provisioned within this of being given; the worker refuses an older one. */
export const GRANT_WINDOW_MS = 15 * 60_000;

/** What a break-glass grant decides on: the request's subject and its incident and basis. */
export function breakGlassSubject(request: Omit<AccessRequest, 'gate'>): string {
  return subjectDigest({
    kind: 'break-glass',
    request: requestSubject(request),
    breakGlass: request.breakGlass,
  });
}

/** The gate of a break-glass request, granted by `actor` on `basis` now. */
export function breakGlassGate(
  request: Omit<AccessRequest, 'gate'>,
  input: { actor: Actor; basis: Basis; now: Date; signer: Signer },
): Gate {
  const gate = openGate({
    required: 1,
    excluded: [],
    subject: breakGlassSubject(request),
    until: new Date(input.now.getTime() + GRANT_WINDOW_MS).toISOString(),
  });
  return grantOnBasis(gate, { id: request.id, what: 'break-glass grant' }, input);
}

/**
 * The worker's re-check of a break-glass request: its signed grant holds for exactly this request,
 * by its requester, within {@link GRANT_WINDOW_MS}, for at most `policy.breakGlass.max`; a lead
 * basis needs a lead now, a static on-call basis someone still in `roles.oncall`, and a provider
 * basis the same provider configured. Returns the problem in words, or null.
 */
export function verifyBreakGlass(
  request: AccessRequest,
  config: Pick<TunnelgateConfig, 'roles' | 'policy' | 'oncall'>,
  signer: Signer,
  now: Date,
): string | null {
  const info = request.breakGlass;
  if (info === undefined) return 'it is not a break-glass request';
  const decided = verifyBasis(
    request.gate,
    { id: request.id, what: 'break-glass grant', digest: breakGlassSubject(request) },
    signer,
  );
  if (typeof decided === 'string') return decided;
  const basis = decided.basis as Basis;
  if (decided.by !== request.requester) return `${decided.by} granted access to someone else`;
  if (basis.kind !== info.basis || basis.incident !== info.incident.id)
    return 'the grant is for another basis';
  if (now.getTime() > Date.parse(request.gate.until)) return 'the grant is too old to provision';
  if (request.forMs === undefined || request.forMs > config.policy.breakGlass.max) {
    return 'its duration is above policy.breakGlass.max';
  }
  const actor: Actor = { id: request.requester, platformRoles: decided.roles };
  switch (basis.kind) {
    case 'lead':
      return isLead(actor, config.roles) ? null : `${request.requester} is not a lead in the current config`;
    case 'oncall':
      if (basis.source === 'static') {
        return rolesOf(actor, config.roles).has('oncall')
          ? null
          : `${request.requester} is not in roles.oncall`;
      }
      return config.oncall?.provider === basis.source
        ? null
        : `${basis.source} is no longer the on-call provider`;
    default: {
      const unreachable: never = basis.kind;
      return unreachable;
    }
  }
}

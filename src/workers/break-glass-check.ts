/**
 * The provisioning worker's re-check of a break-glass grant before its peer goes live: the signed
 * grant (domain/break-glass.ts), the asker not offboarded and the grant not ended since, and at the
 * provider again: the asker still on call (for a provider basis) and the incident still open. A
 * provider that does not answer throws PROVIDER_UNAVAILABLE, so the job is retried, never waved through.
 */
import { TunnelgateError } from '../core/errors.js';
import { verifyBreakGlass } from '../domain/break-glass.js';
import type { AccessRequest } from '../domain/models/request.js';
import type { WorkerContext } from './context.js';

/** The problem in words, or null when the grant may be provisioned now. */
export async function breakGlassProblem(ctx: WorkerContext, request: AccessRequest): Promise<string | null> {
  if (await ctx.breakGlass.isOffboarded(request.requester)) return `${request.requester} was offboarded`;
  if ((await ctx.breakGlass.activeOf(request.requester)) !== request.id)
    return 'the break-glass grant has ended';
  const problem = verifyBreakGlass(request, ctx.config, ctx.signer, ctx.clock());
  if (problem !== null) return problem;
  const roster = ctx.oncall;
  const basis = request.gate.decisions[0]?.basis;
  if (roster === undefined || basis === undefined)
    return 'no on-call provider is configured to check the incident';
  if (basis.kind === 'oncall' && basis.source !== 'static') {
    const answer = await roster.onCall(request.hub);
    if (answer.problem !== null) throw new TunnelgateError('PROVIDER_UNAVAILABLE', answer.problem);
    if (!answer.fromProvider.has(request.requester)) return `${request.requester} is no longer on call`;
  }
  const incident = await roster.provider.incident(basis.incident);
  return incident?.open === true ? null : `incident ${basis.incident} is no longer open`;
}

/**
 * The end of a break-glass grant, once its peer is off the hub (whatever removed it: the deadline,
 * the incident resolving, a revoke): the grant stops counting as active, and the leads get a
 * summary with the peer's latest handshake and transfer totals during the grant, read from the
 * hub in the removal's own exec.
 */
import type { Message } from '../domain/models/reply.js';
import type { AccessRequest } from '../domain/models/request.js';
import type { StepOutput } from '../hub/ssh/remote-script.js';
import { parseDump } from '../wg/dump.js';
import type { WorkerContext } from './context.js';

/** Why the peer went, in the summary's words. */
function causeText(cause: string, by: string): string {
  switch (cause) {
    case 'expiry':
      return 'deadline reached';
    case 'incident':
      return 'incident resolved';
    default:
      return `${cause} by ${by}`;
  }
}

/** Ends the grant and returns the leads' summary, or null when it had already ended. */
export async function endBreakGlass(
  ctx: WorkerContext,
  request: AccessRequest,
  end: { cause: string; by: string; now: Date; dump: StepOutput | undefined },
): Promise<Message | null> {
  const info = request.breakGlass;
  const grant = await ctx.breakGlass.end(request.id);
  if (info === undefined || grant === null) return null;
  let peer: ReturnType<typeof parseDump>['peers'][number] | undefined;
  if (end.dump !== undefined && end.dump.exitCode === 0) {
    try {
      peer = parseDump(end.dump.stdout).peers.find((p) => p.publicKey === request.publicKey);
    } catch (err) {
      ctx.logger.warn({ err, requestId: request.id }, 'break-glass summary: the hub dump did not parse');
    }
  }
  const latest = peer?.latestHandshake ?? null;
  await ctx.audit.append({
    at: end.now.toISOString(),
    actor: end.by,
    action: 'breakglass-end',
    hub: request.hub,
    target: request.id,
    result: 'ok',
    detail: `${causeText(end.cause, end.by)}; incident ${info.incident.provider}:${info.incident.id}; rx ${peer?.transferRx ?? '?'} tx ${peer?.transferTx ?? '?'}`,
  });
  return {
    to: { type: 'leads' },
    private: false,
    reply: {
      kind: 'breakglass.ended',
      requestId: request.id,
      user: request.requester,
      hub: request.hub,
      peer: request.peer,
      incident: info.incident,
      from: request.provisionedAt ?? grant.from,
      to: end.now.toISOString(),
      cause: causeText(end.cause, end.by),
      latestHandshake: latest === null ? null : new Date(latest * 1000).toISOString(),
      rxBytes: peer?.transferRx ?? null,
      txBytes: peer?.transferTx ?? null,
    },
  };
}

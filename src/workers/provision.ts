/**
 * The provision job: turns an approved request into a live, persisted, verified peer on its hub,
 * in one SSH exec. Idempotent at every point: the request record is the durable idempotency key
 * (a provisioned request is never provisioned again, whatever happened to its BullMQ job), the
 * address claim is keyed by the public key, `wg set` is repeatable, and the config file is only
 * appended to when the peer is not already in it.
 */

import { TunnelgateError } from '../core/errors.js';
import { markFailed, markProvisioned, markProvisioning, verifyApprovals } from '../domain/approval.js';
import { approvers } from '../domain/gate.js';
import { hubAddress, hubAddress6, hubConfig } from '../domain/hubs.js';
import type { AccessRequest } from '../domain/models/request.js';
import { parsePeerCheck, provisionSteps } from '../hub/programs/peers.js';
import { runScript } from '../hub/ssh/remote-script.js';
import { expireJobId } from '../queue/job-ids.js';
import { KEEPALIVE_SECONDS } from '../wg/client-config.js';
import { renderPeerSection } from '../wg/conf.js';
import { breakGlassProblem } from './break-glass-check.js';
import type { WorkerContext } from './context.js';
import { firstLinkDelay } from './expiry.js';

export type ProvisionOutcome =
  | { status: 'provisioned'; request: AccessRequest }
  | { status: 'already'; request: AccessRequest };

/** Provisions request `requestId`. Throws TunnelgateError (retryable or not) on failure. */
export async function provision(
  ctx: WorkerContext,
  requestId: string,
  jobId?: string,
): Promise<ProvisionOutcome> {
  const request = await ctx.requests.get(requestId);
  if (request.state === 'provisioned') return { status: 'already', request };
  if (request.state !== 'approved' && request.state !== 'provisioning') {
    throw new TunnelgateError('CONFLICT', `request ${requestId} is ${request.state}; nothing to provision`);
  }
  const problem =
    request.breakGlass === undefined
      ? verifyApprovals(request, ctx.config, ctx.signer)
      : await breakGlassProblem(ctx, request);
  if (problem !== null) {
    throw new TunnelgateError('FORBIDDEN', `request ${requestId} cannot be provisioned: ${problem}`);
  }
  const hub = hubConfig(ctx.config, request.hub);
  const address =
    request.address ??
    (await ctx.inventory.claimAddress(hub.name, hub.subnet, hubAddress(hub), request.publicKey));
  const address6 =
    request.address6 ??
    (hub.subnet6 === undefined
      ? undefined
      : await ctx.inventory.claimAddress(hub.name, hub.subnet6, hubAddress6(hub.subnet6), request.publicKey));
  const now = ctx.clock();
  const expiresAt =
    request.forMs === undefined ? undefined : new Date(now.getTime() + request.forMs).toISOString();

  await ctx.requests.update(requestId, (current) =>
    markProvisioning(current, { address, ...(address6 === undefined ? {} : { address6 }) }, now),
  );

  const allowedIps = address6 === undefined ? [address] : [address, address6];
  const section = renderPeerSection({
    publicKey: request.publicKey,
    allowedIps,
    meta: {
      peer: request.peer,
      owner: request.requester,
      device: request.device,
      request: request.id,
      created: now.toISOString(),
      expires: expiresAt ?? null,
      mode: request.mode,
    },
  });
  const results = await runScript(
    ctx.pool.get(hub.name),
    provisionSteps(hub, { publicKey: request.publicKey, allowedIps, section }),
  );
  const check = parsePeerCheck(results.check?.stdout ?? '');
  const live = check.liveAllowedIps ?? [];
  if (!allowedIps.every((ip) => live.includes(ip)) || !check.inFile) {
    throw new TunnelgateError(
      'VERIFY_FAILED',
      `peer ${request.peer} is not fully on hub ${hub.name} after provisioning (live: ${live.join(',') || 'absent'}, config file: ${check.inFile ? 'yes' : 'no'})`,
      { hub: hub.name },
    );
  }

  await ctx.inventory.put({
    peer: request.peer,
    owner: request.requester,
    device: request.device,
    hub: hub.name,
    publicKey: request.publicKey,
    address,
    ...(address6 === undefined ? {} : { address6 }),
    mode: request.mode,
    requestId: request.id,
    createdAt: now.toISOString(),
    expiresAt: expiresAt ?? null,
    clientKeepalive: KEEPALIVE_SECONDS,
  });
  const done = await ctx.requests.update(requestId, (current) =>
    markProvisioned(current, { at: now, ...(expiresAt === undefined ? {} : { expiresAt }) }),
  );
  if (!done.ok) throw done.error;
  await ctx.audit.append({
    at: now.toISOString(),
    actor: 'worker',
    action: 'provision',
    hub: hub.name,
    target: request.peer,
    result: 'ok',
    detail: `${request.id} ${allowedIps.join(',')} ${request.breakGlass === undefined ? 'approved' : `break-glass (${request.breakGlass.basis}, incident ${request.breakGlass.incident.id}) granted`} by ${approvers(request.gate).join(',')}`,
  });
  if (expiresAt !== undefined && request.forMs !== undefined) {
    // The expiry chain (workers/expiry.ts): warns the owner, then removes the peer at expiresAt.
    await ctx.enqueueHub(
      { kind: 'expire', hub: hub.name, peer: request.peer, requestId: request.id },
      {
        delayMs: firstLinkDelay(request.forMs, ctx.config.policy.expiryWarning),
        jobId: expireJobId(request.id),
      },
    );
  }
  const provisioned = {
    kind: 'peer.provisioned' as const,
    requestId: request.id,
    peer: request.peer,
    hub: hub.name,
    address,
    owner: request.requester,
    hubPublicKey: check.hubPublicKey ?? '',
    ...(expiresAt === undefined ? {} : { expiresAt }),
  };
  await ctx.notify(
    [
      { to: { type: 'user', id: request.requester }, private: true, reply: provisioned, jobId, final: true },
      { to: { type: 'leads' }, private: false, reply: provisioned },
    ],
    jobId,
  );
  return { status: 'provisioned', request: done.request };
}

/** Records a provisioning failure on the request and tells the requester and the approvers. */
export async function provisionFailed(
  ctx: WorkerContext,
  requestId: string,
  error: TunnelgateError,
  jobId?: string,
): Promise<void> {
  const request = await ctx.requests.find(requestId);
  if (request === null) return;
  if (request.state === 'approved' || request.state === 'provisioning') {
    await ctx.requests.update(requestId, (current) => markFailed(current, error.toJSON(), ctx.clock()));
  }
  // A break-glass grant that could not go live is over: it holds no slot and no poll runs for it.
  if (request.breakGlass !== undefined) await ctx.breakGlass.end(request.id);
  await ctx.audit.append({
    at: ctx.clock().toISOString(),
    actor: 'worker',
    action: 'provision',
    hub: request.hub,
    target: request.peer,
    result: 'failed',
    detail: `${request.id}: ${error.code}`,
  });
  const reply = {
    kind: 'peer.failed' as const,
    requestId: request.id,
    peer: request.peer,
    hub: request.hub,
    action: 'provision',
    error: error.toJSON(),
  };
  await ctx.notify(
    [
      { to: { type: 'user', id: request.requester }, private: true, reply, jobId, final: true },
      ...approvers(request.gate).map((id) => ({ to: { type: 'user' as const, id }, private: true, reply })),
    ],
    jobId,
  );
}

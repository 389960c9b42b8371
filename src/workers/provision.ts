/**
 * The provision job: turns an approved request into a live, persisted, verified peer on its hub,
 * in one SSH exec. Idempotent at every point: the request record is the durable idempotency key
 * (a provisioned request is never provisioned again, whatever happened to its BullMQ job), the
 * address claim is keyed by the public key, `wg set` is repeatable, and the config file is only
 * appended to when the peer is not already in it.
 */

import type { HubConfig } from '../config/schema.js';
import { TunnelgateError } from '../core/errors.js';
import { markFailed, markProvisioned, markProvisioning, verifyApprovals } from '../domain/approval.js';
import { approvers } from '../domain/gate.js';
import { hubAddress, hubAddress6, hubConfig } from '../domain/hubs.js';
import type { AccessRequest } from '../domain/models/request.js';
import { describeHeld, heldConflict, heldFrom } from '../hub/programs/holders.js';
import { type PeerCheck, parsePeerCheck, provisionSteps } from '../hub/programs/peers.js';
import { runScript } from '../hub/ssh/remote-script.js';
import { expireJobId } from '../queue/job-ids.js';
import { KEEPALIVE_SECONDS } from '../wg/client-config.js';
import { renderPeerSection } from '../wg/conf.js';
import { breakGlassProblem } from './break-glass-check.js';
import type { WorkerContext } from './context.js';
import { firstLinkDelay } from './expiry.js';
import { setAsideHeld } from './held-addresses.js';

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
  const now = ctx.clock();
  const expiresAt =
    request.forMs === undefined ? undefined : new Date(now.getTime() + request.forMs).toISOString();
  const { address, address6, check } = await placeOnHub(ctx, hub, request, now, expiresAt);
  const allowedIps = address6 === undefined ? [address] : [address, address6];
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

/** How many addresses one provisioning may find held on the hub before it gives up. */
const MAX_HELD_ROUNDS = 16;

/**
 * Claims addresses and puts the peer live and in the config file, in one exec per round. When the
 * hub refuses because another peer holds an address (holders.ts), the claim is released, what the
 * hub holds is set aside (held-addresses.ts) and the next free address tried: the hub, not Redis,
 * decides what is taken.
 */
async function placeOnHub(
  ctx: WorkerContext,
  hub: HubConfig,
  request: AccessRequest,
  now: Date,
  expiresAt: string | undefined,
): Promise<{ address: string; address6: string | undefined; check: PeerCheck }> {
  let current = request;
  for (let round = 0; ; round++) {
    const address =
      current.address ??
      (await ctx.inventory.claimAddress(hub.name, hub.subnet, hubAddress(hub), request.publicKey));
    const address6 =
      current.address6 ??
      (hub.subnet6 === undefined
        ? undefined
        : await ctx.inventory.claimAddress(
            hub.name,
            hub.subnet6,
            hubAddress6(hub.subnet6),
            request.publicKey,
          ));
    const marked = await ctx.requests.update(request.id, (r) =>
      markProvisioning(r, { address, ...(address6 === undefined ? {} : { address6 }) }, now),
    );
    if (!marked.ok) throw marked.error;
    current = marked.request;
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
    try {
      const results = await runScript(
        ctx.pool.get(hub.name),
        provisionSteps(hub, { publicKey: request.publicKey, allowedIps, section }),
      );
      return { address, address6, check: parsePeerCheck(results.check?.stdout ?? '') };
    } catch (err) {
      const held = heldFrom(err);
      if (held === null) throw err;
      const mine = new Set(allowedIps);
      const wanted = new Set(held.map((h) => h.wanted));
      for (const taken of wanted) {
        if (mine.has(taken)) await ctx.inventory.releaseAddress(hub.name, taken, request.publicKey);
      }
      await setAsideHeld(ctx, hub, held, request.publicKey);
      if (round + 1 >= MAX_HELD_ROUNDS) {
        throw heldConflict(hub.name, `${request.peer} cannot be given ${[...wanted].join(', ')}`, held);
      }
      await ctx.audit.append({
        at: ctx.clock().toISOString(),
        actor: 'worker',
        action: 'provision',
        hub: hub.name,
        target: request.peer,
        result: 'refused',
        detail: `${request.id}: the hub refused ${[...wanted].join(',')}: ${describeHeld(held)}; trying the next free address`,
      });
      const cleared = await ctx.requests.update(request.id, (r) => ({
        ok: true,
        request: withoutAddresses(r, wanted),
      }));
      if (!cleared.ok) throw cleared.error;
      current = cleared.request;
    }
  }
}

/** The request without the allocated addresses the hub refused, so the next round claims anew. */
function withoutAddresses(request: AccessRequest, refused: ReadonlySet<string>): AccessRequest {
  const { address, address6, ...rest } = request;
  return {
    ...rest,
    ...(address === undefined || refused.has(address) ? {} : { address }),
    ...(address6 === undefined || refused.has(address6) ? {} : { address6 }),
  };
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

/**
 * The commit of a key rotation (see workers/rotate.ts): after the move, the hub's config file and
 * live interface are brought to the committed state (again: the watch that moved already wrote
 * them, so this repairs whatever a crash or a hub restart left), verified, and only then do the
 * inventory record, the address claim, the request and the audit log follow.
 */
import { TunnelgateError } from '../core/errors.js';
import { hubConfig } from '../domain/hubs.js';
import type { PeerRecord } from '../domain/models/peer.js';
import { heldConflict, heldFrom } from '../hub/programs/holders.js';
import { parsePeerCheck } from '../hub/programs/peers.js';
import { commitSteps, committedSection } from '../hub/programs/rotation.js';
import { runScript, type ScriptResults } from '../hub/ssh/remote-script.js';
import { type RotationRecord, type RotationStore, rotationSealId } from '../store/rotations.js';
import { KEEPALIVE_SECONDS } from '../wg/client-config.js';
import type { WorkerContext } from './context.js';
import { hubState, rotationMessages, rotationReply } from './rotation-messages.js';

/** What one rotate job did. */
export type RotateOutcome = 'none' | 'staged' | 'watching' | 'done' | 'rolled-back';

/** The addresses the peer holds, IPv4 first, then its other routes (an adopted gateway's LAN). */
export function allowedIpsOf(rotation: RotationRecord): string[] {
  const addresses =
    rotation.address6 === undefined ? [rotation.address] : [rotation.address, rotation.address6];
  return [...addresses, ...(rotation.routes ?? [])];
}

/** The `# tunnelgate:` metadata of the new key's sections: the peer's, plus `rotatedFrom`. */
export function metaOf(rotation: RotationRecord, record: PeerRecord, created: string) {
  return {
    peer: rotation.peer,
    owner: rotation.owner,
    device: record.device,
    request: rotation.requestId,
    created,
    expires: record.expiresAt,
    mode: rotation.mode,
    rotatedFrom: rotation.oldPublicKey,
  };
}

/**
 * The new key's final section. The key dates from the rotation's start, so the watch that commits
 * on the hub and any later commit write the same bytes.
 */
export function finalSection(rotation: RotationRecord, record: PeerRecord): string {
  return committedSection(
    rotation.newPublicKey,
    allowedIpsOf(rotation),
    metaOf(rotation, record, rotation.createdAt),
  );
}

/**
 * Commits the rotation on the hub, verifies both keys there, then moves the records. Throws
 * VERIFY_FAILED (with what the hub holds) when the hub does not show the committed state, or a
 * TunnelgateError from the SSH transport; the rotation stays `moved` for a resume either way.
 */
export async function commit(
  ctx: WorkerContext,
  store: RotationStore,
  rotation: RotationRecord,
  current: PeerRecord,
  jobId: string | undefined,
): Promise<RotateOutcome> {
  const hub = hubConfig(ctx.config, rotation.hub);
  const now = ctx.clock();
  const createdAt = rotation.createdAt;
  const allowedIps = allowedIpsOf(rotation);
  let results: ScriptResults;
  try {
    results = await runScript(
      ctx.pool.get(hub.name),
      commitSteps(hub, rotation, allowedIps, finalSection(rotation, current)),
    );
  } catch (err) {
    const held = heldFrom(err);
    if (held === null) throw err;
    // Refused on the hub with nothing changed: the rotation stays `moved` for a resume once the
    // holder is dealt with; the leads hear of it with what the hub holds (rotateFailed).
    throw heldConflict(hub.name, `the rotation of ${rotation.peer} cannot be committed`, held);
  }
  const fresh = parsePeerCheck(results['check-new']?.stdout ?? '');
  const stale = parsePeerCheck(results['check-old']?.stdout ?? '');
  const live = fresh.liveAllowedIps ?? [];
  if (
    !allowedIps.every((ip) => live.includes(ip)) ||
    !fresh.inFile ||
    stale.liveAllowedIps !== null ||
    stale.inFile
  ) {
    throw new TunnelgateError(
      'VERIFY_FAILED',
      `the rotation of ${rotation.peer} did not take on hub ${hub.name}: ${hubState(fresh, stale)}`,
      { hub: hub.name },
    );
  }
  ctx.logger.info(
    { hub: hub.name, peer: rotation.peer, from: rotation.oldPublicKey, to: rotation.newPublicKey, jobId },
    'rotation committed on the hub: the old key is off the interface and out of the config file',
  );
  // The inventory record and the address claims move to the new key in one transaction.
  // The owner got a new config (the bot's template with --pubkey): its keepalive is the bot's.
  const record: PeerRecord = {
    ...current,
    publicKey: rotation.newPublicKey,
    createdAt,
    clientKeepalive: KEEPALIVE_SECONDS,
  };
  await ctx.inventory.replaceKey(hub.name, rotation.oldPublicKey, record);
  await ctx.requests.update(rotation.requestId, (request) =>
    request.publicKey === rotation.newPublicKey
      ? { ok: true, request }
      : {
          ok: true,
          request: {
            ...request,
            publicKey: rotation.newPublicKey,
            generatedKey: rotation.generatedKey,
            history: [
              ...request.history,
              {
                at: now.toISOString(),
                by: rotation.by,
                event: 'rotated',
                detail: `new key ${rotation.newPublicKey}`,
              },
            ],
          },
        },
  );
  await ctx.audit.append({
    at: now.toISOString(),
    actor: rotation.by,
    action: 'rotate',
    hub: hub.name,
    target: rotation.peer,
    result: 'ok',
    detail: `${rotation.oldPublicKey} -> ${rotation.newPublicKey}`,
  });
  await ctx.redis.del(ctx.keys.sealedKey(rotationSealId(hub.name, rotation.peer)));
  await ctx.notify(rotationMessages(rotation, rotationReply(rotation, 'done'), jobId), jobId);
  await store.finish(hub.name, rotation.peer, rotation.newPublicKey);
  return 'done';
}

/**
 * Starts a zero-downtime key rotation (workers/rotate.ts) once it is allowed: by the owner or a
 * lead with a bot-generated key, by the owner with their own key, or by anyone else with their key
 * once a `k-` key change passed the gate (its gate travels in the rotation record, and the worker
 * verifies it before the key goes on the hub).
 */
import { TunnelgateError } from '../core/errors.js';
import type { Actor } from '../domain/models/command.js';
import type { PeerRecord } from '../domain/models/peer.js';
import type { Message } from '../domain/models/reply.js';
import { type RotationRecord, RotationStore, rotationSealId } from '../store/rotations.js';
import { generateKeyPair, type PublicKey } from '../wg/keys.js';
import { type BotContext, toRecipient } from './context.js';

/** A sealed rotation key outlives the rotation window by this much, then Redis drops it. */
const SEAL_SLACK_MS = 86_400_000;

/** Who asked, and with which key (none: the bot generates one for the owner). */
export interface RotationStart {
  by: Actor;
  publicKey?: PublicKey;
  approval?: NonNullable<RotationRecord['approval']>;
}

/** Records the rotation and queues its first step; returns the message for whoever asked. */
export async function startRotation(
  ctx: BotContext,
  record: PeerRecord,
  start: RotationStart,
): Promise<Message> {
  const store = new RotationStore(ctx.redis, ctx.keys);
  const now = ctx.clock();
  const keys = start.publicKey === undefined ? generateKeyPair() : null;
  const rotation: RotationRecord = {
    hub: record.hub,
    peer: record.peer,
    owner: record.owner,
    requestId: record.requestId,
    by: start.by.id,
    byRoles: [...start.by.platformRoles],
    ...(start.approval === undefined ? {} : { approval: start.approval }),
    oldPublicKey: record.publicKey,
    newPublicKey: keys?.publicKey ?? (start.publicKey as RotationRecord['newPublicKey']),
    generatedKey: keys !== null,
    address: record.address,
    ...(record.address6 === undefined ? {} : { address6: record.address6 }),
    ...(record.routes === undefined ? {} : { routes: record.routes }),
    mode: record.mode,
    state: 'staging',
    createdAt: now.toISOString(),
  };
  if (!(await store.create(rotation))) {
    throw new TunnelgateError('CONFLICT', `a key rotation of ${record.peer} was just started`, {
      hint: 'its new config is on its way to the owner',
    });
  }
  if (keys !== null) {
    const ttlSec = Math.ceil((ctx.config.policy.rotationWindow + SEAL_SLACK_MS) / 1000);
    await ctx.redis.set(
      ctx.keys.sealedKey(rotationSealId(record.hub, record.peer)),
      ctx.vault.seal(keys.privateKey),
      'EX',
      ttlSec,
    );
  }
  const jobId = await ctx.queues.addHub(
    { kind: 'rotate', hub: record.hub, peer: record.peer, round: 0 },
    { jobId: `rotate-${record.hub}-${record.peer}-${now.getTime()}-0` },
  );
  await ctx.audit.append({
    at: now.toISOString(),
    actor: start.by.id,
    action: 'rotate',
    hub: record.hub,
    target: record.peer,
    result: 'queued',
    detail:
      keys === null
        ? `supplied key${start.approval === undefined ? '' : ` (${start.approval.id})`}`
        : 'generated key',
  });
  const to = record.owner === start.by.id ? 'you' : record.owner;
  const text =
    keys === null
      ? `rotating the key of ${record.peer} to the supplied key; the old one keeps working until the new one connects`
      : `rotating the key of ${record.peer}: ${to} will get the new config privately; the old one keeps working until the new one connects`;
  return { ...toRecipient({ type: 'user', id: start.by.id }, { kind: 'job.queued', jobId, text }), jobId };
}

/**
 * `/vpn rotate <peer> [--pubkey KEY]`: the owner or a lead starts a zero-downtime key rotation
 * (workers/rotate.ts). Without `--pubkey` the bot generates the new key pair here; the private key
 * is sealed by the key vault and only leaves it inside the config sent privately to the owner.
 * Asking again while a rotation is in progress resumes it (e.g. after its job failed for good).
 */
import { TunnelgateError } from '../../core/errors.js';
import type { Actor, Command } from '../../domain/models/command.js';
import type { Message } from '../../domain/models/reply.js';
import { type RotationRecord, RotationStore, rotationSealId } from '../../store/rotations.js';
import { generateKeyPair } from '../../wg/keys.js';
import { type BotContext, toActor } from '../context.js';
import { ownedOrLedPeer } from '../peer-access.js';

type RotateCommand = Extract<Command, { verb: 'rotate' }>;

/** A sealed rotation key outlives the rotation window by this much, then Redis drops it. */
const SEAL_SLACK_MS = 86_400_000;

export async function handleRotate(
  ctx: BotContext,
  actor: Actor,
  command: RotateCommand,
): Promise<Message[]> {
  const record = await ownedOrLedPeer(ctx, actor, command.peer, 'rotate');
  const store = new RotationStore(ctx.redis, ctx.config.redis.prefix);
  const now = ctx.clock();
  const existing = await store.find(record.hub, record.peer);
  if (existing !== null) {
    if (command.pubkey !== undefined && command.pubkey !== existing.newPublicKey) {
      throw new TunnelgateError('CONFLICT', `a key rotation of ${record.peer} is already in progress`, {
        hint: 'wait for it to finish or roll back, then rotate again',
      });
    }
    const jobId = await ctx.queues.addHub(
      { kind: 'rotate', hub: record.hub, peer: record.peer, round: 0 },
      {
        jobId: `rotate-${record.hub}-${record.peer}-${Date.parse(existing.createdAt)}-resume-${now.getTime()}`,
      },
    );
    return [
      toActor(
        actor,
        {
          kind: 'job.queued',
          jobId,
          text: `resuming the key rotation of ${record.peer} (${existing.state})…`,
        },
        { jobId },
      ),
    ];
  }
  if (command.pubkey === record.publicKey) {
    throw new TunnelgateError('INPUT_INVALID', `that is the current key of ${record.peer}`, {
      hint: 'generate a new key on the device (wg genkey | wg pubkey), or leave --pubkey out',
    });
  }
  const keys = command.pubkey === undefined ? generateKeyPair() : null;
  const rotation: RotationRecord = {
    hub: record.hub,
    peer: record.peer,
    owner: record.owner,
    requestId: record.requestId,
    by: actor.id,
    oldPublicKey: record.publicKey,
    newPublicKey: keys?.publicKey ?? (command.pubkey as RotationRecord['newPublicKey']),
    generatedKey: keys !== null,
    address: record.address,
    ...(record.address6 === undefined ? {} : { address6: record.address6 }),
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
    actor: actor.id,
    action: 'rotate',
    hub: record.hub,
    target: record.peer,
    result: 'queued',
    detail: keys === null ? 'owner-supplied key' : 'generated key',
  });
  const to = record.owner === actor.id ? 'you' : record.owner;
  return [
    toActor(
      actor,
      {
        kind: 'job.queued',
        jobId,
        text: `rotating the key of ${record.peer}: ${to} will get the new config privately; the old one keeps working until the new one connects`,
      },
      { jobId },
    ),
  ];
}

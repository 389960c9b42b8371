/**
 * `/vpn rotate <peer> [--pubkey KEY]`: the owner or a lead starts a zero-downtime key rotation
 * (workers/rotate.ts). Without `--pubkey` the bot generates the new key pair here; the private key
 * is sealed by the key vault and only leaves it inside the config sent privately to the owner.
 * A key supplied by anyone but the owner would hand the owner's address to someone else: it
 * becomes a `k-` key change that needs the peer's mode's number of leads, never the asker.
 * Asking again while a rotation is in progress resumes it (e.g. after its job failed for good).
 */
import { TunnelgateError } from '../../core/errors.js';
import type { Actor, Command } from '../../domain/models/command.js';
import type { Message } from '../../domain/models/reply.js';
import { RotationStore } from '../../store/rotations.js';
import { type BotContext, toActor } from '../context.js';
import { startRotation } from '../key-rotation.js';
import { ownedOrLedPeer } from '../peer-access.js';
import { askForKeyChange } from './ask-key-change.js';

type RotateCommand = Extract<Command, { verb: 'rotate' }>;

export async function handleRotate(
  ctx: BotContext,
  actor: Actor,
  command: RotateCommand,
): Promise<Message[]> {
  const record = await ownedOrLedPeer(ctx, actor, command.peer, 'rotate');
  const store = new RotationStore(ctx.redis, ctx.keys);
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
  if (command.pubkey === undefined || actor.id === record.owner) {
    const start = command.pubkey === undefined ? { by: actor } : { by: actor, publicKey: command.pubkey };
    return [await startRotation(ctx, record, start)];
  }
  return askForKeyChange(ctx, actor, record, command.pubkey);
}

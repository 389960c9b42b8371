/**
 * The rotate job: zero-downtime key rotation, following the hub guide's "stage changes, verify
 * handshake, then prune". Two peers cannot hold the same AllowedIPs, so:
 *
 *   staging  --stage-->  staged   the new key is on the interface with NO AllowedIPs and in the
 *                                 config file (`rotatedFrom` in its meta); the owner gets the new
 *                                 config privately; the old key keeps carrying the traffic.
 *   staged   --watch-->  moved    a watch round polls the new key's handshake on the hub itself
 *                                 and, the moment it comes, in the same hub program: writes the
 *                                 committed config file (old key's section gone, new key's final
 *                                 section) and then, in ONE `wg set`, removes the old key and moves
 *                                 the address to the new one. File first, so a hub restart after
 *                                 the handshake never brings the old key back.
 *   moved    --commit--> (done)   brings the file and the interface to the committed state again
 *                                 (idempotent, so a resume after a crash or a hub restart repairs
 *                                 both before anything else), verifies, then moves the inventory
 *                                 record and address claim, updates request and audit.
 *   staged   --deadline (after a last look) or old key gone--> (rolled back): the staged key is
 *                                 removed, the old kept.
 *
 * State lives in Redis (bot/store/rotations.ts) and every step is idempotent, so a crash at any
 * point resumes from the recorded state. Watch rounds are short hub jobs that re-queue themselves
 * behind other work, so a long rotation window never blocks the hub queue for more than a round.
 */

import { TunnelgateError, toTunnelgateError } from '../core/errors.js';
import { rotationProblem } from '../domain/authority.js';
import { hubConfig } from '../domain/hubs.js';
import type { PeerRecord } from '../domain/models/peer.js';
import { describeHeld, heldFrom } from '../hub/programs/holders.js';
import { parsePeerCheck } from '../hub/programs/peers.js';
import {
  rollbackSteps,
  rotationCheckSteps,
  stagedSection,
  stageSteps,
  watchSteps,
} from '../hub/programs/rotation.js';
import { runScript, type ScriptResults } from '../hub/ssh/remote-script.js';
import type { HubJob } from '../queue/jobs.js';
import { reserve } from '../store/reservations.js';
import { type RotationRecord, RotationStore, rotationSealId } from '../store/rotations.js';
import type { WorkerContext } from './context.js';
import { allowedIpsOf, commit, finalSection, metaOf, type RotateOutcome } from './rotate-commit.js';
import { hubState, rotationFailedMessages, rotationMessages, rotationReply } from './rotation-messages.js';

type RotateJob = Extract<HubJob, { kind: 'rotate' }>;

/** Longest watch round; other hub jobs wait at most about this long behind a rotation. */
export const WATCH_ROUND_MS = 10_000;
/** How often a watch round reads the new key's handshake on the hub (seconds). */
export const WATCH_POLL_SEC = 0.05;

export type { RotateOutcome } from './rotate-commit.js';

/** Runs the rotation of `job.peer` one step further. Throws TunnelgateError on hub failures. */
export async function rotate(ctx: WorkerContext, job: RotateJob, jobId?: string): Promise<RotateOutcome> {
  const store = new RotationStore(ctx.redis, ctx.keys);
  const rotation = await store.find(job.hub, job.peer);
  if (rotation === null) return 'none';
  const old = await ctx.inventory.find(rotation.hub, rotation.oldPublicKey);
  switch (rotation.state) {
    case 'staging': {
      if (old === null) return rollBack(ctx, store, rotation, 'the peer was removed', jobId);
      const refused = rotationProblem(rotation, old, ctx.config, ctx.signer);
      if (refused !== null) return rollBack(ctx, store, rotation, `refused: ${refused}`, jobId);
      return stage(ctx, store, rotation, old, job.round, jobId);
    }
    case 'staged':
      if (old === null) return rollBack(ctx, store, rotation, 'the peer was removed', jobId);
      return watch(ctx, store, rotation, old, job.round, jobId);
    case 'moved': {
      const current = old ?? (await ctx.inventory.find(rotation.hub, rotation.newPublicKey));
      // Revoked after the move: the peer must go, so the new key goes too.
      if (current === null) return rollBack(ctx, store, rotation, 'the peer was removed', jobId);
      return commit(ctx, store, rotation, current, jobId);
    }
    default: {
      const unreachable: never = rotation.state;
      throw new Error(`unknown rotation state ${JSON.stringify(unreachable)}`);
    }
  }
}

/** Watch rounds run back to back this many times (~15 min): when owners usually switch configs. */
export const EAGER_ROUNDS = 90;
/** After that, the pause between rounds; a late switcher may wait this long for the move. */
export const LAZY_ROUND_DELAY_MS = 30_000;

function nextRound(ctx: WorkerContext, rotation: RotationRecord, round: number): Promise<void> {
  return ctx.enqueueHub(
    { kind: 'rotate', hub: rotation.hub, peer: rotation.peer, round },
    {
      jobId: `rotate-${rotation.hub}-${rotation.peer}-${Date.parse(rotation.createdAt)}-${round}`,
      // Back-to-back rounds for a whole 24 h window would cost ~8,600 execs; after the eager
      // phase, pause between rounds (the old key keeps working, only the switch-over waits).
      ...(round > EAGER_ROUNDS ? { delayMs: LAZY_ROUND_DELAY_MS } : {}),
    },
  );
}

async function stage(
  ctx: WorkerContext,
  store: RotationStore,
  rotation: RotationRecord,
  old: PeerRecord,
  round: number,
  jobId: string | undefined,
): Promise<RotateOutcome> {
  const hub = hubConfig(ctx.config, rotation.hub);
  const now = ctx.clock();
  const section = stagedSection(rotation.newPublicKey, metaOf(rotation, old, now.toISOString()));
  const results = await runScript(ctx.pool.get(hub.name), stageSteps(hub, rotation.newPublicKey, section));
  const check = parsePeerCheck(results['check-new']?.stdout ?? '');
  if (check.liveAllowedIps === null && !check.inFile) {
    throw new TunnelgateError('VERIFY_FAILED', `the new key of ${rotation.peer} is not on hub ${hub.name}`, {
      hub: hub.name,
    });
  }
  // A key staged before (and lost from the interface since) keeps its deadline and its config.
  const restage = rotation.deadline !== undefined;
  const staged: RotationRecord = {
    ...rotation,
    state: 'staged',
    deadline: rotation.deadline ?? new Date(now.getTime() + ctx.config.policy.rotationWindow).toISOString(),
    hubPublicKey: check.hubPublicKey ?? '',
  };
  // Tell the owner before recording the step: a crash in between re-stages and re-sends, rather
  // than leaving a staged key whose config never went out.
  if (!restage) await ctx.notify(rotationMessages(staged, rotationReply(staged, 'staged'), jobId), jobId);
  await store.update(rotation.hub, rotation.peer, () => staged);
  if (!restage)
    await ctx.audit.append({
      at: now.toISOString(),
      actor: rotation.by,
      action: 'rotate',
      hub: hub.name,
      target: rotation.peer,
      result: 'pending',
      detail: `staged ${rotation.newPublicKey} until ${staged.deadline}`,
    });
  await nextRound(ctx, staged, round + 1);
  return 'staged';
}

async function watch(
  ctx: WorkerContext,
  store: RotationStore,
  rotation: RotationRecord,
  old: PeerRecord,
  round: number,
  jobId: string | undefined,
): Promise<RotateOutcome> {
  const hub = hubConfig(ctx.config, rotation.hub);
  const left = Date.parse(rotation.deadline ?? '') - ctx.clock().getTime();
  // Past the deadline, one last short look: a key that handshook just before it still moves,
  // and a crashed worker's move on the hub is recognised instead of being rolled back.
  const expired = !(left > 0);
  const sliceMs = expired ? 1_000 : Math.min(WATCH_ROUND_MS, hub.ssh.commandTimeoutMs / 2, left);
  let results: ScriptResults;
  try {
    results = await runScript(
      ctx.pool.get(hub.name),
      watchSteps(hub, rotation, allowedIpsOf(rotation), finalSection(rotation, old), {
        sliceSec: sliceMs / 1000,
        pollSec: WATCH_POLL_SEC,
      }),
    );
  } catch (err) {
    const held = heldFrom(err);
    if (held === null) throw err;
    // Another peer took one of the peer's addresses: the cutover would move it back, so it is
    // refused on the hub and the rotation rolled back with the holder named (the old key stays).
    for (const h of held) await reserve(ctx.redis, ctx.keys, hub.name, h.cidr, h.holder);
    return rollBack(ctx, store, rotation, `the hub refused the cutover: ${describeHeld(held)}`, jobId);
  }
  const outcome = (results.watch?.stdout ?? '').trim();
  switch (outcome) {
    case 'moved': {
      const moved = await store.update(rotation.hub, rotation.peer, (r) => ({ ...r, state: 'moved' }));
      if (moved === null) return 'none';
      return commit(ctx, store, moved, old, jobId);
    }
    case 'old-missing':
      return rollBack(ctx, store, rotation, 'the old key is no longer on the hub', jobId);
    case 'missing':
      // The staged key fell off the interface (e.g. a hub restart lost it): stage it again.
      await store.update(rotation.hub, rotation.peer, (r) => ({ ...r, state: 'staging' }));
      await nextRound(ctx, rotation, round + 1);
      return 'watching';
    case 'waiting':
      if (expired) return rollBack(ctx, store, rotation, 'the new key did not connect in time', jobId);
      await nextRound(ctx, rotation, round + 1);
      return 'watching';
    default:
      throw new TunnelgateError('HUB_STATE_INVALID', `unexpected rotation watch output "${outcome}"`, {
        hub: hub.name,
      });
  }
}

async function rollBack(
  ctx: WorkerContext,
  store: RotationStore,
  rotation: RotationRecord,
  reason: string,
  jobId: string | undefined,
): Promise<RotateOutcome> {
  const hub = hubConfig(ctx.config, rotation.hub);
  const results = await runScript(ctx.pool.get(hub.name), rollbackSteps(hub, rotation));
  const staged = parsePeerCheck(results['check-new']?.stdout ?? '');
  if (staged.liveAllowedIps !== null || staged.inFile) {
    throw new TunnelgateError(
      'VERIFY_FAILED',
      `the staged key of ${rotation.peer} is still on hub ${hub.name}`,
      {
        hub: hub.name,
      },
    );
  }
  await ctx.redis.del(ctx.keys.sealedKey(rotationSealId(hub.name, rotation.peer)));
  await ctx.audit.append({
    at: ctx.clock().toISOString(),
    actor: rotation.by,
    action: 'rotate',
    hub: hub.name,
    target: rotation.peer,
    result: 'failed',
    detail: `rolled back: ${reason}`,
  });
  await ctx.notify(rotationMessages(rotation, rotationReply(rotation, 'rolled-back', reason), jobId), jobId);
  await store.finish(hub.name, rotation.peer, rotation.newPublicKey);
  return 'rolled-back';
}

/**
 * Tells the owner (and the asker) that a rotation step failed for good; the state stays for a
 * resume. A rotation that failed after the move (its commit could not finish) is also reported to
 * the leads, with what the hub holds: the file may still name the old key until it is resumed.
 */
export async function rotateFailed(
  ctx: WorkerContext,
  job: RotateJob,
  error: TunnelgateError,
  jobId?: string,
): Promise<void> {
  const rotation = await new RotationStore(ctx.redis, ctx.keys).find(job.hub, job.peer);
  await ctx.audit.append({
    at: ctx.clock().toISOString(),
    actor: rotation?.by ?? 'worker',
    action: 'rotate',
    hub: job.hub,
    target: job.peer,
    result: 'failed',
    detail: error.code,
  });
  if (rotation === null) return;
  const onHub = rotation.state === 'moved' ? await readHubState(ctx, rotation) : undefined;
  await ctx.notify(rotationFailedMessages(rotation, error, onHub, jobId), jobId);
}

/** What the hub holds of both keys now, in words; says so when the hub cannot be read either. */
async function readHubState(ctx: WorkerContext, rotation: RotationRecord): Promise<string> {
  const hub = hubConfig(ctx.config, rotation.hub);
  try {
    const results = await runScript(ctx.pool.get(hub.name), rotationCheckSteps(hub, rotation));
    return hubState(
      parsePeerCheck(results['check-new']?.stdout ?? ''),
      parsePeerCheck(results['check-old']?.stdout ?? ''),
    );
  } catch (err) {
    return `unknown, the hub could not be read either (${toTunnelgateError(err).code})`;
  }
}

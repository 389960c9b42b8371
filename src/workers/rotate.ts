/**
 * The rotate job: zero-downtime key rotation, following the hub guide's "stage changes, verify
 * handshake, then prune". Two peers cannot hold the same AllowedIPs, so:
 *
 *   staging  --stage-->  staged   the new key is on the interface with NO AllowedIPs and in the
 *                                 config file (`rotatedFrom` in its meta); the owner gets the new
 *                                 config privately; the old key keeps carrying the traffic.
 *   staged   --watch-->  moved    a watch round polls the new key's handshake on the hub itself
 *                                 and, the moment it comes, moves the address from the old key to
 *                                 the new one in ONE `wg set` (same exec, no SSH round trip).
 *   moved    --commit--> (done)   prune the old key, write the new key's final section, move the
 *                                 inventory record and address claim, update request and audit.
 *   staged   --deadline or old key gone--> (rolled back): the staged key is removed, the old kept.
 *
 * State lives in Redis (bot/store/rotations.ts) and every step is idempotent, so a crash at any
 * point resumes from the recorded state. Watch rounds are short hub jobs that re-queue themselves
 * behind other work, so a long rotation window never blocks the hub queue for more than a round.
 */

import { TunnelgateError } from '../core/errors.js';
import { rotationProblem } from '../domain/authority.js';
import { hubConfig } from '../domain/hubs.js';
import type { PeerRecord } from '../domain/models/peer.js';
import type { Message } from '../domain/models/reply.js';
import { parsePeerCheck } from '../hub/programs/peers.js';
import {
  commitSteps,
  committedSection,
  rollbackSteps,
  stagedSection,
  stageSteps,
  watchSteps,
} from '../hub/programs/rotation.js';
import { runScript } from '../hub/ssh/remote-script.js';
import type { HubJob } from '../queue/jobs.js';
import { type RotationRecord, RotationStore, rotationSealId } from '../store/rotations.js';
import type { WorkerContext } from './context.js';

type RotateJob = Extract<HubJob, { kind: 'rotate' }>;

/** Longest watch round; other hub jobs wait at most about this long behind a rotation. */
export const WATCH_ROUND_MS = 10_000;
/** How often a watch round reads the new key's handshake on the hub (seconds). */
export const WATCH_POLL_SEC = 0.05;

/** What one rotate job did. */
export type RotateOutcome = 'none' | 'staged' | 'watching' | 'done' | 'rolled-back';

/** Runs the rotation of `job.peer` one step further. Throws TunnelgateError on hub failures. */
export async function rotate(ctx: WorkerContext, job: RotateJob, jobId?: string): Promise<RotateOutcome> {
  const store = new RotationStore(ctx.redis, ctx.config.redis.prefix);
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
    case 'staged': {
      if (old === null) return rollBack(ctx, store, rotation, 'the peer was removed', jobId);
      if (Date.parse(rotation.deadline ?? '') <= ctx.clock().getTime()) {
        return rollBack(ctx, store, rotation, 'the new key did not connect in time', jobId);
      }
      return watch(ctx, store, rotation, old, job.round, jobId);
    }
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

function allowedIpsOf(rotation: RotationRecord): string[] {
  return rotation.address6 === undefined ? [rotation.address] : [rotation.address, rotation.address6];
}

function metaOf(rotation: RotationRecord, record: PeerRecord, created: string) {
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

/** The rotation's messages: to the owner, and to whoever asked when that was someone else. */
function rotationMessages(
  rotation: RotationRecord,
  reply: Message['reply'],
  jobId: string | undefined,
): Message[] {
  const messages: Message[] = [{ to: { type: 'user', id: rotation.owner }, private: true, reply }];
  if (rotation.by !== rotation.owner)
    messages.push({ to: { type: 'user', id: rotation.by }, private: true, reply });
  Object.assign(messages.at(-1) ?? {}, { jobId, final: true });
  return messages;
}

function rotationReply(rotation: RotationRecord, phase: 'staged' | 'done' | 'rolled-back', detail?: string) {
  return {
    kind: 'peer.rotation' as const,
    phase,
    requestId: rotation.requestId,
    peer: rotation.peer,
    hub: rotation.hub,
    owner: rotation.owner,
    address: rotation.address,
    ...(rotation.address6 === undefined ? {} : { address6: rotation.address6 }),
    mode: rotation.mode,
    newPublicKey: rotation.newPublicKey,
    ownKey: !rotation.generatedKey,
    ...(rotation.hubPublicKey === undefined ? {} : { hubPublicKey: rotation.hubPublicKey }),
    ...(rotation.deadline === undefined ? {} : { deadline: rotation.deadline }),
    ...(detail === undefined ? {} : { detail }),
  };
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
  const sliceMs = Math.min(WATCH_ROUND_MS, hub.ssh.commandTimeoutMs / 2, left);
  const results = await runScript(
    ctx.pool.get(hub.name),
    watchSteps(hub, rotation, allowedIpsOf(rotation), sliceMs / 1000, WATCH_POLL_SEC),
  );
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
      await nextRound(ctx, rotation, round + 1);
      return 'watching';
    default:
      throw new TunnelgateError('HUB_STATE_INVALID', `unexpected rotation watch output "${outcome}"`, {
        hub: hub.name,
      });
  }
}

async function commit(
  ctx: WorkerContext,
  store: RotationStore,
  rotation: RotationRecord,
  current: PeerRecord,
  jobId: string | undefined,
): Promise<RotateOutcome> {
  const hub = hubConfig(ctx.config, rotation.hub);
  const now = ctx.clock();
  const createdAt = current.publicKey === rotation.newPublicKey ? current.createdAt : now.toISOString();
  const allowedIps = allowedIpsOf(rotation);
  const section = committedSection(rotation.newPublicKey, allowedIps, metaOf(rotation, current, createdAt));
  const results = await runScript(ctx.pool.get(hub.name), commitSteps(hub, rotation, section));
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
      `the rotation of ${rotation.peer} did not take on hub ${hub.name} (new key live: ${live.join(',') || 'no'}, old key live: ${stale.liveAllowedIps === null ? 'no' : 'yes'})`,
      { hub: hub.name },
    );
  }
  // The inventory record and the address claims move to the new key in one transaction.
  const record: PeerRecord = { ...current, publicKey: rotation.newPublicKey, createdAt };
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

/** Tells the owner (and the asker) that a rotation step failed for good; the state stays for a resume. */
export async function rotateFailed(
  ctx: WorkerContext,
  job: RotateJob,
  error: TunnelgateError,
  jobId?: string,
): Promise<void> {
  const rotation = await new RotationStore(ctx.redis, ctx.config.redis.prefix).find(job.hub, job.peer);
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
  const reply = {
    kind: 'peer.failed' as const,
    requestId: rotation.requestId,
    peer: rotation.peer,
    hub: rotation.hub,
    action: 'rotate',
    error: { ...error.toJSON(), hint: `run /vpn rotate ${rotation.peer} again to resume it` },
  };
  await ctx.notify(rotationMessages(rotation, reply, jobId), jobId);
}

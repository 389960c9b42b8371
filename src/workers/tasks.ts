/**
 * The tasks queue: work that changes no hub. The peers job behind `/vpn list` and `/vpn status`
 * reads one dump per hub (hubs in parallel) and joins it with the inventory into peer views with
 * latest handshake and transfer; a hub that cannot be read still lists its peers from the
 * inventory, marked not live. The expire-request job ends requests left pending past their TTL.
 * The scheduled reminder check is the maintenance run: it also prunes old finished requests and
 * verifies the whole audit chain.
 */
import { type ConnectionOptions, type Job, UnrecoverableError, Worker } from 'bullmq';
import { TunnelgateError, toTunnelgateError } from '../core/errors.js';
import { expire } from '../domain/approval.js';
import { hubConfig } from '../domain/hubs.js';
import type { PeerView } from '../domain/models/reply.js';
import { dumpStep } from '../hub/programs/peers.js';
import { runScript } from '../hub/ssh/remote-script.js';
import { startJobLog } from '../queue/job-log.js';
import { openJob } from '../queue/job-mac.js';
import { QUEUE, TaskJob } from '../queue/jobs.js';
import { RotationStore } from '../store/rotations.js';
import { parseDump, type WgDump } from '../wg/dump.js';
import { audit } from './audit.js';
import { checkAuditChain } from './audit-check.js';
import { pollBreakGlass } from './break-glass-poll.js';
import { repliesTo, type WorkerContext } from './context.js';
import { diagnose } from './diagnose.js';
import { pruneFinished } from './prune.js';
import { runReminderCheck } from './reminders.js';
import { runReviewCheck } from './review-check.js';

type PeersJob = Extract<TaskJob, { kind: 'peers' }>;

async function readHub(ctx: WorkerContext, hub: string): Promise<WgDump | null> {
  try {
    const results = await runScript(ctx.pool.get(hub), [dumpStep(hubConfig(ctx.config, hub))]);
    return parseDump(results.dump?.stdout ?? '');
  } catch (err) {
    const error = toTunnelgateError(err);
    ctx.logger.warn({ hub, code: error.code, stderr: error.stderrTail }, `cannot read hub: ${error.message}`);
    return null;
  }
}

/** Builds the peer views for a peers job and sends them to the asking user. */
export async function readPeers(ctx: WorkerContext, job: PeersJob, jobId?: string): Promise<PeerView[]> {
  const nowSec = Math.floor(ctx.clock().getTime() / 1000);
  const wanted = job.publicKeys === undefined ? null : new Set<string>(job.publicKeys);
  const perHub = await Promise.all(
    job.hubs.map(async (hub) => {
      const [records, dump] = await Promise.all([ctx.inventory.list(hub), readHub(ctx, hub)]);
      const live = new Map(dump?.peers.map((p) => [p.publicKey as string, p]) ?? []);
      return records
        .filter((r) => wanted === null || wanted.has(r.publicKey))
        .map((r): PeerView => {
          const peer = live.get(r.publicKey);
          const handshake = peer?.latestHandshake ?? null;
          return {
            peer: r.peer,
            hub: r.hub,
            owner: r.owner,
            address: r.address,
            mode: r.mode,
            publicKey: r.publicKey,
            createdAt: r.createdAt,
            expiresAt: r.expiresAt,
            handshakeAgeSec: handshake === null ? null : Math.max(0, nowSec - handshake),
            rxBytes: peer?.transferRx ?? null,
            txBytes: peer?.transferTx ?? null,
            live: dump !== null,
          };
        });
    }),
  );
  const peers = perHub.flat().sort((a, b) => a.peer.localeCompare(b.peer));
  const reply =
    job.reply === 'peer.list'
      ? { kind: 'peer.list' as const, scope: job.scope, peers, pending: [] }
      : { kind: 'peer.status' as const, peers: await withRotations(ctx, peers) };
  await ctx.notify([{ to: { type: 'user', id: job.to }, private: true, reply, jobId, final: true }], jobId);
  return peers;
}

/** Adds each peer's key rotation in progress (one Redis read per peer: status shows a few peers). */
async function withRotations(ctx: WorkerContext, peers: PeerView[]): Promise<PeerView[]> {
  const store = new RotationStore(ctx.redis, ctx.keys);
  return Promise.all(
    peers.map(async (view) => {
      const rotation = await store.find(view.hub, view.peer);
      if (rotation === null) return view;
      return {
        ...view,
        rotation: {
          state: rotation.state,
          newPublicKey: rotation.newPublicKey,
          startedAt: rotation.createdAt,
          ...(rotation.deadline === undefined ? {} : { deadline: rotation.deadline }),
        },
      };
    }),
  );
}

/** Expires a request that is still pending; a no-op for any other state. */
export async function expireRequest(ctx: WorkerContext, requestId: string, jobId?: string): Promise<boolean> {
  const now = ctx.clock();
  const result = await ctx.requests.update(requestId, (current) => expire(current, now));
  if (!result.ok) return false;
  const request = result.request;
  if (request.state !== 'expired') return false;
  await ctx.redis.del(ctx.keys.sealedKey(request.id));
  await ctx.audit.append({
    at: now.toISOString(),
    actor: 'scheduler',
    action: 'expire',
    hub: request.hub,
    target: request.id,
    result: 'ok',
  });
  const reply = { kind: 'request.expired' as const, requestId: request.id, peer: request.peer };
  await ctx.notify(
    [
      { to: { type: 'user', id: request.requester }, private: true, reply, jobId, final: true },
      { to: { type: 'leads' }, private: false, reply },
    ],
    jobId,
  );
  return true;
}

/** Runs one task (the context already answers the reply outlet the job names, if any). */
async function runTask(ctx: WorkerContext, task: TaskJob, jobId: string | undefined): Promise<unknown> {
  switch (task.kind) {
    case 'peers':
      return readPeers(ctx, task, jobId);
    case 'expire-request':
      return expireRequest(ctx, task.requestId, jobId);
    case 'reminder-check': {
      // The scheduled maintenance run: pruning and the audit check need only Redis, so they go first.
      const pruned = await pruneFinished(ctx);
      const chain = await checkAuditChain(ctx);
      return { ...(await runReminderCheck(ctx, jobId)), pruned, chainIntact: chain.intact };
    }
    case 'review-check':
      return runReviewCheck(ctx);
    case 'diagnose':
      return diagnose(ctx, task, jobId);
    case 'audit':
      return audit(ctx, task, jobId);
    case 'breakglass-poll':
      return pollBreakGlass(ctx, task.requestId);
    default: {
      const unreachable: never = task;
      throw new UnrecoverableError(`unknown task ${JSON.stringify(unreachable)}`);
    }
  }
}

/** Processes one task job; logs one line when it ends. */
export async function processTask(outer: WorkerContext, job: Job): Promise<unknown> {
  let payload: unknown;
  try {
    payload = openJob(outer.signer, QUEUE.tasks, job.data);
  } catch (thrown) {
    // A missing or wrong signature: the job was not added by a process holding the secret.
    startJobLog(outer.logger, job, undefined).end('failed', new TunnelgateError('FORBIDDEN', 'unsigned job'));
    throw thrown;
  }
  const parsed = TaskJob.safeParse(payload);
  const log = startJobLog(outer.logger, job, parsed.data);
  if (!parsed.success) {
    log.end('failed', new TunnelgateError('INPUT_INVALID', 'invalid task payload'));
    throw new UnrecoverableError(`invalid task payload: ${parsed.error.message}`);
  }
  try {
    const result = await runTask(repliesTo(outer, payload), parsed.data, job.id);
    log.end('ok');
    return result;
  } catch (thrown) {
    const final = thrown instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    log.end(final ? 'failed' : 'retrying', thrown);
    throw thrown;
  }
}

/** Starts the tasks worker (parallel: these jobs never change a hub). */
export function startTaskWorker(ctx: WorkerContext, connection: ConnectionOptions, concurrency = 8): Worker {
  return new Worker(QUEUE.tasks, (job: Job) => processTask(ctx, job), {
    connection,
    prefix: ctx.config.redis.prefix,
    concurrency,
  });
}

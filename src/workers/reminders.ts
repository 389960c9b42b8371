/**
 * The scheduled reminder check (one BullMQ job scheduler, `policy.reminderCron`): key age and idle
 * peers across every hub. For each peer, by the age of its CURRENT key (`createdAt`, reset by a
 * rotation):
 *
 *   keyMaxAge - reminderLead  the owner is reminded, with the rotate command      (stage `due`)
 *   keyMaxAge                 owner and leads are told it is overdue              (stage `overdue`)
 *   keyMaxAge + overdueGrace  with `overdueAction: revoke`, the peer is removed  (stage `revoking`)
 *
 * Each stage is sent once per key: an idempotency mark (SET NX with an expiry) is taken before
 * sending, so retries, overlapping runs and extra worker replicas never repeat it. Peers with no
 * handshake for `policy.idleAfter` are listed to leads once per scheduled run (one dump per hub).
 */

import { toTunnelgateError } from '../core/errors.js';
import { hubConfig } from '../domain/hubs.js';
import type { PeerRecord } from '../domain/models/peer.js';
import type { Message, PeerView, Reply } from '../domain/models/reply.js';
import { dumpStep } from '../hub/programs/peers.js';
import { runScript } from '../hub/ssh/remote-script.js';
import { RotationStore } from '../store/rotations.js';
import { parseDump, type WgDump } from '../wg/dump.js';
import type { WorkerContext } from './context.js';

type Stage = Extract<Reply, { kind: 'key.reminder' }>['stage'];

/** What a check found and sent, for logs and tests. */
export interface ReminderReport {
  /** `<peer>:<stage>` for every reminder sent by this run. */
  sent: string[];
  /** Peers listed as idle (sent to leads unless another run already did for this period). */
  idle: string[];
  /** Hubs whose live state could not be read (idle detection skipped there). */
  unreadable: string[];
}

/** The stage a key of this age has reached, or null while it is young. Pure. */
export function keyStage(
  createdAt: string,
  now: Date,
  policy: {
    keyMaxAge: number;
    reminderLead: number;
    overdueGrace: number;
    overdueAction: 'notify' | 'revoke';
  },
): Stage | null {
  const born = Date.parse(createdAt);
  const t = now.getTime();
  if (policy.overdueAction === 'revoke' && t >= born + policy.keyMaxAge + policy.overdueGrace)
    return 'revoking';
  if (t >= born + policy.keyMaxAge) return 'overdue';
  if (t >= born + policy.keyMaxAge - policy.reminderLead) return 'due';
  return null;
}

async function readDump(ctx: WorkerContext, hub: string): Promise<WgDump | null> {
  try {
    const results = await runScript(ctx.pool.get(hub), [dumpStep(hubConfig(ctx.config, hub))]);
    return parseDump(results.dump?.stdout ?? '');
  } catch (err) {
    const error = toTunnelgateError(err);
    ctx.logger.warn({ hub, code: error.code }, `reminder check cannot read hub: ${error.message}`);
    return null;
  }
}

/** Takes the idempotency mark `id`; false when someone already took it. */
async function takeMark(ctx: WorkerContext, id: string, ttlMs: number): Promise<boolean> {
  const ttlSec = Math.max(60, Math.ceil(ttlMs / 1000));
  return (await ctx.redis.set(ctx.keys.once(id), '1', 'EX', ttlSec, 'NX')) === 'OK';
}

/** Sends once under mark `id`; the mark is released again when sending fails, so a retry sends. */
async function sendOnce(
  ctx: WorkerContext,
  id: string,
  ttlMs: number,
  send: () => Promise<void>,
): Promise<boolean> {
  if (!(await takeMark(ctx, id, ttlMs))) return false;
  try {
    await send();
    return true;
  } catch (err) {
    await ctx.redis.del(ctx.keys.once(id));
    throw err;
  }
}

function reminderMessages(record: PeerRecord, reply: Extract<Reply, { kind: 'key.reminder' }>): Message[] {
  const owner: Message = { to: { type: 'user', id: record.owner }, private: true, reply };
  return reply.stage === 'due' ? [owner] : [owner, { to: { type: 'leads' }, private: false, reply }];
}

/**
 * Runs the check once. `runId` identifies the scheduled run (its job id, the same across
 * retries) for the idle listing's mark; without it the listing is marked per UTC day.
 */
export async function runReminderCheck(ctx: WorkerContext, runId?: string): Promise<ReminderReport> {
  const now = ctx.clock();
  const policy = ctx.config.policy;
  const rotations = new RotationStore(ctx.redis, ctx.keys);
  const report: ReminderReport = { sent: [], idle: [], unreadable: [] };
  const markTtl = policy.keyMaxAge + policy.overdueGrace + 86_400_000;
  const idleViews: PeerView[] = [];
  const nowSec = Math.floor(now.getTime() / 1000);

  await Promise.all(
    ctx.config.hubs.map(async ({ name: hub }) => {
      const [records, dump] = await Promise.all([ctx.inventory.list(hub), readDump(ctx, hub)]);
      if (dump === null) report.unreadable.push(hub);
      const live = new Map(dump?.peers.map((p) => [p.publicKey as string, p]) ?? []);
      for (const record of records) {
        if (dump !== null) {
          const peer = live.get(record.publicKey);
          const handshake = peer?.latestHandshake ?? null;
          const since = handshake === null ? Date.parse(record.createdAt) : handshake * 1000;
          if (now.getTime() - since >= policy.idleAfter) {
            report.idle.push(record.peer);
            idleViews.push({
              peer: record.peer,
              hub: record.hub,
              owner: record.owner,
              address: record.address,
              mode: record.mode,
              publicKey: record.publicKey,
              createdAt: record.createdAt,
              expiresAt: record.expiresAt,
              handshakeAgeSec: handshake === null ? null : Math.max(0, nowSec - handshake),
              rxBytes: peer?.transferRx ?? null,
              txBytes: peer?.transferTx ?? null,
              live: true,
            });
          }
        }
        const stage = keyStage(record.createdAt, now, policy);
        if (stage === null) continue;
        // A rotation in progress is the answer to the reminder; don't nag or revoke meanwhile.
        if ((await rotations.find(hub, record.peer)) !== null) continue;
        const overdueAt = new Date(Date.parse(record.createdAt) + policy.keyMaxAge);
        const reply = {
          kind: 'key.reminder' as const,
          stage,
          peer: record.peer,
          hub: record.hub,
          owner: record.owner,
          keyCreatedAt: record.createdAt,
          overdueAt: overdueAt.toISOString(),
          ...(policy.overdueAction === 'revoke'
            ? { revokeAt: new Date(overdueAt.getTime() + policy.overdueGrace).toISOString() }
            : {}),
        };
        const sent = await sendOnce(
          ctx,
          `reminder:${hub}:${record.publicKey}:${stage}`,
          markTtl,
          async () => {
            if (stage === 'revoking') {
              await ctx.enqueueHub(
                {
                  kind: 'revoke',
                  hub: record.hub,
                  publicKey: record.publicKey,
                  peer: record.peer,
                  by: 'key-age-policy',
                  byRoles: [],
                  cause: 'overdue',
                  requestId: record.requestId,
                },
                { jobId: `revoke-${record.hub}-${record.requestId}` },
              );
            }
            await ctx.notify(reminderMessages(record, reply));
          },
        );
        if (sent) report.sent.push(`${record.peer}:${stage}`);
      }
    }),
  );

  if (idleViews.length > 0) {
    const period = runId ?? now.toISOString().slice(0, 10);
    await sendOnce(ctx, `idle:${period}`, 7 * 86_400_000, () =>
      ctx.notify([
        {
          to: { type: 'leads' },
          private: false,
          reply: {
            kind: 'peer.idle',
            idleAfterMs: policy.idleAfter,
            peers: idleViews.sort((a, b) => a.peer.localeCompare(b.peer)),
          },
        },
      ]),
    );
  }
  ctx.logger.info({ sent: report.sent.length, idle: report.idle.length }, 'reminder check done');
  return report;
}

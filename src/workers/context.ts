/**
 * What job processors need, passed in so each processor is testable with real Redis and lab hubs
 * and nothing global.
 */
import type { Redis } from 'ioredis';
import type { TunnelgateConfig } from '../config/schema.js';
import type { Logger } from '../core/logger.js';
import type { Message } from '../domain/models/reply.js';
import type { Signer } from '../domain/signer.js';
import type { HubPool } from '../hub/ssh/hub-pool.js';
import type { OnCallRoster } from '../oncall/roster.js';
import { type HubJob, ReplyTo, type TaskJob } from '../queue/jobs.js';
import type { AuditLog } from '../store/audit-log.js';
import type { BreakGlassStore } from '../store/break-glass.js';
import type { InventoryStore } from '../store/inventory.js';
import type { RedisKeys } from '../store/keys.js';
import type { RequestStore } from '../store/requests.js';

export interface WorkerContext {
  config: TunnelgateConfig;
  /** Checks the MACs of gate decisions and jobs (the deployment secret). */
  signer: Signer;
  redis: Redis;
  keys: RedisKeys;
  requests: RequestStore;
  inventory: InventoryStore;
  audit: AuditLog;
  pool: HubPool;
  /** Queues messages for the bot to deliver (or for the outlet the job names: {@link repliesTo}). */
  notify(messages: Message[], jobId?: string): Promise<void>;
  /** Queues messages for one reply outlet (the process that asked for the job). */
  notifyOutlet(outlet: string, messages: Message[]): Promise<void>;
  /** Queues follow-up hub work (e.g. the revocation of a time-bound peer at its expiry). */
  enqueueHub(job: HubJob, options?: { delayMs?: number; jobId?: string }): Promise<void>;
  /** Queues follow-up work that changes no hub (e.g. the next poll of a break-glass incident). */
  enqueueTask(job: TaskJob, options?: { delayMs?: number; jobId?: string }): Promise<void>;
  breakGlass: BreakGlassStore;
  /** The on-call provider, to poll break-glass incidents; absent without `oncall:`. */
  oncall?: OnCallRoster;
  clock: () => Date;
  logger: Logger;
}

/**
 * The context for one job: its `notify` answers the reply outlet the job's signed envelope names
 * (`replyTo`, e.g. the shell session that asked), otherwise the bot.
 */
export function repliesTo(ctx: WorkerContext, opened: unknown): WorkerContext {
  const outlet = ReplyTo.safeParse(opened).data?.replyTo;
  if (outlet === undefined) return ctx;
  return { ...ctx, notify: (messages) => ctx.notifyOutlet(outlet, messages) };
}

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
import type { HubJob, TaskJob } from '../queue/jobs.js';
import type { AuditLog } from '../store/audit-log.js';
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
  /** Queues messages for the bot to deliver. */
  notify(messages: Message[], jobId?: string): Promise<void>;
  /** Queues follow-up hub work (e.g. the revocation of a time-bound peer at its expiry). */
  enqueueHub(job: HubJob, options?: { delayMs?: number; jobId?: string }): Promise<void>;
  /** Queues follow-up work that changes no hub (e.g. an access review's next check). */
  enqueueTask(job: TaskJob, options?: { delayMs?: number; jobId?: string }): Promise<void>;
  clock: () => Date;
  logger: Logger;
}

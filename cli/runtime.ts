/**
 * Assembles a running Tunnelgate from a config: Redis (the configured one, or an embedded
 * redis-server), stores, queues, the SSH pool, and — depending on the process's role — the
 * workers, the notifier feeding an adapter's outlet, or both.
 */
import type { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { AuditLog } from '../bot/audit-log.js';
import type { BotContext } from '../bot/context.js';
import { KeyVault } from '../bot/key-vault.js';
import { startNotifier } from '../bot/notifier.js';
import type { Outlet } from '../bot/outlet.js';
import { InventoryStore } from '../bot/store/inventory.js';
import { redisKeys } from '../bot/store/keys.js';
import { RequestStore } from '../bot/store/requests.js';
import type { TunnelgateConfig } from '../config/schema.js';
import { checkRedisPolicy, startEmbeddedRedis } from '../core/embedded-redis.js';
import type { Logger } from '../core/logger.js';
import type { WorkerContext } from '../workers/context.js';
import { startHubWorkers } from '../workers/hub-worker.js';
import { Queues } from '../workers/queues.js';
import { HubPool } from '../workers/ssh/hub-pool.js';
import { startTaskWorker } from '../workers/tasks.js';

export interface RuntimeOptions {
  config: TunnelgateConfig;
  logger: Logger;
  /** Run the hub and task workers in this process. */
  worker: boolean;
  /** Deliver bot messages to this outlet (runs the notifier). */
  outlet?: Outlet;
  clock?: () => Date;
  env?: NodeJS.ProcessEnv;
}

export interface Runtime {
  bot: BotContext;
  worker: WorkerContext;
  redisUrl: string;
  close(): Promise<void>;
}

/** Starts everything the options ask for. Throws CONFIG_INVALID for an evicting Redis. */
export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { config, logger } = options;
  const embedded =
    config.redis.url === undefined
      ? await startEmbeddedRedis({ dataDir: config.dataDir, logger })
      : undefined;
  const redisUrl = config.redis.url ?? embedded?.url ?? '';
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const closers: Array<() => Promise<unknown>> = [];
  try {
    if (embedded === undefined) await checkRedisPolicy(redis, logger);
    const keys = redisKeys(config.redis.prefix);
    const queues = new Queues(config, redis);
    await queues.init();
    const pool = new HubPool(config.hubs, { logger });
    const vault = await KeyVault.open({ dataDir: config.dataDir, env: options.env ?? process.env });
    const shared = {
      config,
      redis,
      keys,
      requests: new RequestStore(redis, keys),
      inventory: new InventoryStore(redis, keys),
      audit: new AuditLog(redis, config.redis.prefix),
      clock: options.clock ?? (() => new Date()),
      logger,
    };
    const bot: BotContext = { ...shared, vault, queues };
    const worker: WorkerContext = {
      ...shared,
      pool,
      notify: (messages) => queues.notify(messages),
      enqueueHub: async (job, opts) => {
        await queues.addHub(job, opts);
      },
    };
    const workers: Worker[] = [];
    if (options.worker) {
      workers.push(
        ...startHubWorkers(worker, redis, {
          lockDurationMs: config.worker.lockDuration,
          stalledIntervalMs: config.worker.stalledInterval,
        }),
        startTaskWorker(worker, redis, config.worker.taskConcurrency),
      );
    }
    if (options.outlet !== undefined) workers.push(startNotifier(bot, options.outlet, redis));
    closers.push(
      () => Promise.all(workers.map((w) => w.close())),
      () => queues.close(),
      async () => pool.closeAll(),
      () => redis.quit(),
    );
    if (embedded !== undefined) closers.push(() => embedded.stop());
    return {
      bot,
      worker,
      redisUrl,
      close: async () => {
        for (const close of closers.splice(0))
          await close().catch((err) => logger.warn({ err }, 'close failed'));
      },
    };
  } catch (err) {
    redis.disconnect();
    await embedded?.stop();
    throw err;
  }
}

/**
 * Assembles a running Tunnelgate from a config: Redis (the configured one, or an embedded
 * redis-server), stores, queues, the SSH pool, and — depending on the process's role — the
 * workers, the notifier feeding an adapter's outlet, or both.
 */
import type { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { BotContext } from '../bot/context.js';
import { startNotifier } from '../bot/notifier.js';
import type { Outlet } from '../bot/outlet.js';
import type { TunnelgateConfig } from '../config/schema.js';
import type { Logger } from '../core/logger.js';
import { HubPool } from '../hub/ssh/hub-pool.js';
import { checkHealth, type HealthReport } from '../observability/health.js';
import { Metrics } from '../observability/metrics.js';
import { within } from '../observability/within.js';
import { Queues } from '../queue/queues.js';
import { AuditLog } from '../store/audit-log.js';
import { checkRedisPolicy, startEmbeddedRedis } from '../store/embedded-redis.js';
import { FirstUseKeys } from '../store/host-keys.js';
import { InventoryStore } from '../store/inventory.js';
import { KeyVault } from '../store/key-vault.js';
import { redisKeys } from '../store/keys.js';
import { RequestStore } from '../store/requests.js';
import type { WorkerContext } from '../workers/context.js';
import { startHubWorkers } from '../workers/hub-worker.js';
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
  /** This process's Prometheus metrics (job events, SSH state, queue depth, peers, handshakes). */
  metrics: Metrics;
  /** True once `close()` began: no new jobs are taken and `/healthz` answers 503. */
  readonly stopping: boolean;
  /** The `/healthz` verdict: Redis answers PING and the runtime is not stopping. */
  health(): Promise<HealthReport>;
  /**
   * Stops taking jobs, waits up to `worker.lockDuration / 2` for running ones, hands back any still
   * running (their locks lapse and another worker's stalled check retries them, without using an
   * attempt), then closes Redis and the SSH connections.
   */
  close(): Promise<void>;
}

/** Each later shutdown step (queues, Redis, SSH, embedded Redis) gets at most this long. */
const CLOSE_STEP_TIMEOUT_MS = 5_000;

/**
 * Stops every worker from taking jobs and waits up to `boundMs` for the running ones. Jobs still
 * running then are abandoned: `close(true)` stops renewing their locks, so BullMQ's stalled check
 * hands them to another worker once the lock lapses (the bound keeps that after our exit).
 */
async function drainWorkers(workers: readonly Worker[], boundMs: number, logger: Logger): Promise<void> {
  if (workers.length === 0) return;
  const finished = await within(Promise.all(workers.map((w) => w.pause())), boundMs);
  if (!finished)
    logger.warn({ boundMs }, 'jobs still running at shutdown: handing them back for another worker to retry');
  await within(Promise.all(workers.map((w) => w.close(!finished))), CLOSE_STEP_TIMEOUT_MS);
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
    const vault = await KeyVault.open({ dataDir: config.dataDir, env: options.env ?? process.env });
    const queues = new Queues(config, redis, vault.signer());
    await queues.init();
    const metrics = new Metrics(config, logger);
    const clock = options.clock ?? (() => new Date());
    const audit = new AuditLog(redis, config.redis.prefix);
    const pool = new HubPool(config.hubs, {
      logger,
      hooks: metrics.connectionHooks,
      firstUse: new FirstUseKeys(redis, keys, audit, clock),
    });
    const shared = {
      signer: vault.signer(),
      config,
      redis,
      keys,
      requests: new RequestStore(redis, keys),
      inventory: new InventoryStore(redis, keys),
      audit,
      clock,
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
    for (const w of workers) metrics.instrument(w);
    metrics.observe({ redis, keys, queues, pool });
    // Redis closes before SSH: an abandoned job's processor then cannot record anything on its way out.
    closers.push(
      () => drainWorkers(workers, Math.floor(config.worker.lockDuration / 2), logger),
      () => within(queues.close(), CLOSE_STEP_TIMEOUT_MS),
      async () => {
        if (!(await within(redis.quit(), CLOSE_STEP_TIMEOUT_MS))) redis.disconnect();
      },
      () => within(pool.closeAll(), CLOSE_STEP_TIMEOUT_MS),
    );
    if (embedded !== undefined) closers.push(() => embedded.stop());
    let stopping = false;
    return {
      bot,
      worker,
      redisUrl,
      metrics,
      get stopping() {
        return stopping;
      },
      health: () => checkHealth(redis, stopping),
      close: async () => {
        stopping = true;
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

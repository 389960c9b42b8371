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
import { TunnelgateError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { HubPool } from '../hub/ssh/hub-pool.js';
import { checkHealth, type HealthReport } from '../observability/health.js';
import { Metrics } from '../observability/metrics.js';
import { within } from '../observability/within.js';
import { rosterFromConfig } from '../oncall/roster.js';
import { Queues } from '../queue/queues.js';
import { AuditLog } from '../store/audit-log.js';
import { BreakGlassStore } from '../store/break-glass.js';
import { checkDeploymentKey } from '../store/deployment-key.js';
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
  /**
   * A reply outlet of this process's own (e.g. `shell-…`): the work it asks for names it, and the
   * notifier reads its queue instead of the bot's `notify`, so the replies come back here.
   */
  replyTo?: string;
  clock?: () => Date;
  env?: NodeJS.ProcessEnv;
  /** The HTTP client of the on-call provider and Slack lookups (default the global fetch). */
  fetch?: typeof fetch;
}

export interface Runtime {
  bot: BotContext;
  worker: WorkerContext;
  redisUrl: string;
  /** This process's Prometheus metrics (job events, SSH state, queue depth, peers, handshakes). */
  metrics: Metrics;
  /** True once `close()` began: no new jobs are taken and `/healthz` answers 503. */
  readonly stopping: boolean;
  /**
   * The `/healthz` verdict: Redis answers PING, a worker can read its hubs' key files, and the
   * runtime is not stopping.
   */
  health(): Promise<HealthReport>;
  /**
   * Stops taking jobs, waits up to `worker.lockDuration / 2` for running ones, hands back any still
   * running (their locks lapse and another worker's stalled check retries them, without using an
   * attempt), then closes Redis and the SSH connections: all within {@link shutdownBoundMs}.
   */
  close(): Promise<void>;
}

/**
 * After the drain bound, every later shutdown step (closing the workers, queues, Redis, the SSH
 * connections with any hub read still in flight, the embedded Redis) shares this much time.
 */
export const CLOSE_TAIL_MS = 5_000;

/** A long-running process gives its chat adapters and handshake readings this long to stop. */
export const ADAPTER_STOP_MS = 2_000;

/** The longest a runtime's `close()` takes: `worker.lockDuration / 2`, then {@link CLOSE_TAIL_MS}. */
export function shutdownBoundMs(config: TunnelgateConfig): number {
  return drainBoundMs(config) + CLOSE_TAIL_MS;
}

/**
 * The longest `tunnelgate bot|worker|all` takes from SIGTERM to exit: {@link ADAPTER_STOP_MS},
 * the runtime's close, and as long again as the adapters for the HTTP endpoint. A container's
 * stop grace period must exceed it (default lock 30 s: 24 s).
 */
export function processStopBoundMs(config: TunnelgateConfig): number {
  return 2 * ADAPTER_STOP_MS + shutdownBoundMs(config);
}

function drainBoundMs(config: TunnelgateConfig): number {
  return Math.floor(config.worker.lockDuration / 2);
}

/** Time left until `deadline` (epoch ms), never negative. */
const left = (deadline: number) => Math.max(0, deadline - Date.now());

/**
 * Stops every worker from taking jobs and waits up to `boundMs` for the running ones. Jobs still
 * running then are abandoned: `close(true)` stops renewing their locks, so BullMQ's stalled check
 * hands them to another worker once the lock lapses (the bound keeps that after our exit); their
 * hub reads are cut when the SSH connections close.
 */
async function drainWorkers(
  workers: readonly Worker[],
  boundMs: number,
  deadline: () => number,
  logger: Logger,
): Promise<void> {
  if (workers.length === 0) return;
  const finished = await within(Promise.all(workers.map((w) => w.pause())), boundMs);
  if (!finished)
    logger.warn({ boundMs }, 'jobs still running at shutdown: handing them back for another worker to retry');
  await within(Promise.all(workers.map((w) => w.close(!finished))), left(deadline()));
}

/**
 * The files a worker must read to reach the hubs: each hub's private key, and its known_hosts
 * unless trust on first use may create it.
 */
function hubKeyFiles(config: TunnelgateConfig): string[] {
  return config.hubs.flatMap((hub) =>
    hub.knownHosts === undefined || hub.trustOnFirstUse
      ? [hub.privateKeyPath]
      : [hub.privateKeyPath, hub.knownHosts],
  );
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
    if (vault.keyFile !== undefined) {
      logger.warn(
        { file: vault.keyFile },
        'TUNNELGATE_SECRET is not set: the data key is read from this file; keep it out of backups that hold the Redis data, or set TUNNELGATE_SECRET',
      );
    }
    const signer = vault.signer();
    await checkDeploymentKey(redis, keys, signer, config.redis.prefix);
    const queues = new Queues(config, redis, signer, options.replyTo);
    await queues.init();
    const metrics = new Metrics(config, logger);
    const clock = options.clock ?? (() => new Date());
    const audit = new AuditLog(redis, keys, signer, options.clock);
    const pool = new HubPool(config.hubs, {
      logger,
      hooks: metrics.connectionHooks,
      firstUse: new FirstUseKeys(redis, keys, audit, clock),
    });
    const roster = rosterFromConfig(config, options.env ?? process.env, {
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });
    if (roster !== undefined && 'missing' in roster) {
      throw new TunnelgateError(
        'CONFIG_INVALID',
        `oncall: the environment variable ${roster.missing} is empty`,
        {
          hint: 'export the on-call provider API token in it, or set oncall.tokenEnv',
        },
      );
    }
    const shared = {
      ...(roster === undefined ? {} : { oncall: roster }),
      breakGlass: new BreakGlassStore(redis, keys),
      signer,
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
      notifyOutlet: (outlet, messages) => queues.notify(messages, outlet),
      enqueueHub: async (job, opts) => {
        await queues.addHub(job, opts);
      },
      enqueueTask: async (job, opts) => {
        await queues.addTask(job, opts);
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
    if (options.outlet !== undefined)
      workers.push(startNotifier(bot, options.outlet, redis, options.replyTo));
    for (const w of workers) metrics.instrument(w);
    metrics.observe({ redis, keys, queues, pool });
    // One deadline for the whole close, set when it starts: the drain bound, then the tail that
    // every later step shares. Redis closes before SSH: an abandoned job's processor then cannot
    // record anything on its way out, and closing SSH cuts its hub read.
    let deadline = 0;
    closers.push(
      () => drainWorkers(workers, drainBoundMs(config), () => deadline, logger),
      // A reply outlet's queue lives as long as its process: nothing is left for no one to read.
      async () => {
        if (options.replyTo !== undefined)
          await within(queues.repliesQueue(options.replyTo).obliterate({ force: true }), left(deadline));
      },
      () => within(queues.close(), left(deadline)),
      async () => {
        if (!(await within(redis.quit(), left(deadline)))) redis.disconnect();
      },
      () => within(pool.closeAll(), left(deadline)),
    );
    if (embedded !== undefined) closers.push(() => within(embedded.stop(), left(deadline)));
    let stopping = false;
    return {
      bot,
      worker,
      redisUrl,
      metrics,
      get stopping() {
        return stopping;
      },
      health: () => checkHealth(redis, stopping, { files: options.worker ? hubKeyFiles(config) : [] }),
      close: async () => {
        stopping = true;
        deadline = Date.now() + shutdownBoundMs(config);
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

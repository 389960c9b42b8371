/**
 * Latest-handshake readings for the handshake-age gauge. A scrape must not open SSH sessions, so
 * worker processes read each hub's dump every `metrics.handshakeRefresh` (one exec per hub, and
 * per period only the process holding a short Redis lock does it) and store the reading in Redis
 * with a time to live of three periods. Every process exports from there; a hub whose readings
 * stop (unreachable, refused host key) loses its series once the last reading expires.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { TunnelgateConfig } from '../config/schema.js';
import { toTunnelgateError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { dumpStep } from '../hub/programs/peers.js';
import type { HubPool } from '../hub/ssh/hub-pool.js';
import { runScript } from '../hub/ssh/remote-script.js';
import type { InventoryStore } from '../store/inventory.js';
import { redisKeys } from '../store/keys.js';
import { parseDump } from '../wg/dump.js';

/** One hub's reading: when it was taken and each peer's latest handshake (unix seconds). */
export const HandshakeReading = z.object({
  /** Unix seconds. */
  at: z.number(),
  peers: z.array(
    z.object({
      /** The inventory's peer name, or the public key of a peer the inventory does not know. */
      peer: z.string(),
      latestHandshake: z.number().nullable(),
    }),
  ),
});
export type HandshakeReading = z.infer<typeof HandshakeReading>;

const readingKey = (prefix: string, hub: string) => redisKeys(prefix).handshakes(hub);
const lockKey = (prefix: string, hub: string) => redisKeys(prefix).handshakesLock(hub);

/** The stored reading of a hub, or null when there is none (or it is unreadable). */
export async function readHandshakes(
  redis: Redis,
  prefix: string,
  hub: string,
): Promise<HandshakeReading | null> {
  const raw = await redis.get(readingKey(prefix, hub));
  if (raw === null) return null;
  const parsed = HandshakeReading.safeParse(JSON.parse(raw));
  return parsed.success ? parsed.data : null;
}

export interface HandshakeMonitorOptions {
  config: TunnelgateConfig;
  redis: Redis;
  pool: HubPool;
  inventory: InventoryStore;
  logger: Logger;
  clock?: () => Date;
}

/** Refreshes every hub's reading periodically; see the module comment. */
export class HandshakeMonitor {
  private readonly options: HandshakeMonitorOptions;
  private readonly everyMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(options: HandshakeMonitorOptions) {
    this.options = options;
    this.everyMs = options.config.metrics.handshakeRefresh;
  }

  /** Takes a reading now and then every period, until {@link stop}. */
  start(): void {
    const tick = () => {
      this.running ??= this.refreshAll().finally(() => {
        this.running = undefined;
      });
    };
    tick();
    this.timer = setInterval(tick, this.everyMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a reading in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Reads every hub whose lock this process wins; failures are logged, never thrown. */
  async refreshAll(): Promise<void> {
    await Promise.all(this.options.config.hubs.map((hub) => this.refresh(hub.name)));
  }

  /** Reads one hub (one exec) unless another process did within this period. */
  async refresh(hub: string): Promise<void> {
    const { config, redis, pool, inventory, logger } = this.options;
    const prefix = config.redis.prefix;
    try {
      const lockMs = Math.max(250, this.everyMs - 1_000);
      if ((await redis.set(lockKey(prefix, hub), '1', 'PX', lockMs, 'NX')) === null) return;
      const conn = pool.get(hub);
      const results = await runScript(conn, [dumpStep(conn.hub)]);
      const dump = parseDump(results.dump?.stdout ?? '');
      const names = new Map((await inventory.list(hub)).map((r) => [r.publicKey, r.peer]));
      const reading: HandshakeReading = {
        at: (this.options.clock?.() ?? new Date()).getTime() / 1_000,
        peers: dump.peers.map((p) => ({
          peer: names.get(p.publicKey) ?? p.publicKey,
          latestHandshake: p.latestHandshake,
        })),
      };
      await redis.set(readingKey(prefix, hub), JSON.stringify(reading), 'PX', this.everyMs * 3);
    } catch (err) {
      const error = toTunnelgateError(err);
      logger.warn({ hub, code: error.code }, `handshake reading failed: ${error.message}`);
    }
  }
}

/**
 * The bench's own redis-server (the embedded one Tunnelgate ships, in a temporary directory) and a
 * fresh key prefix per figure, so figures never see each other's queues or records.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../src/core/logger.js';
import { startEmbeddedRedis } from '../../src/store/embedded-redis.js';

/** A running bench Redis; `stop()` shuts it down and deletes its files. */
export interface BenchRedis {
  url: string;
  stop(): Promise<void>;
}

/** Starts redis-server (AOF on, noeviction) on a free port under a new temporary directory. */
export async function startBenchRedis(logger: Logger): Promise<BenchRedis> {
  // Not a self-removing tempDir: redis-server refuses to exit when its directory vanishes first.
  const dataDir = mkdtempSync(join(tmpdir(), 'tg-bench-redis-'));
  const remove = () => rmSync(dataDir, { recursive: true, force: true });
  try {
    const redis = await startEmbeddedRedis({ dataDir, logger });
    return {
      url: redis.url,
      async stop() {
        await redis.stop();
        remove();
      },
    };
  } catch (err) {
    remove();
    throw err;
  }
}

/** A unique, valid `redis.prefix` for one figure, e.g. `b-growth-1a2b3c4d`. */
export function freshPrefix(name: string): string {
  return `b-${name}-${randomBytes(4).toString('hex')}`;
}

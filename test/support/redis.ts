/**
 * The run's shared redis-server (started by test/setup/global-setup.ts) and per-test key
 * prefixes, so test files running in parallel never see each other's keys or queues.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';

/** `redis://127.0.0.1:<port>` of the run's redis-server. */
export function redisUrl(): string {
  return inject('redisUrl');
}

/** A key/queue prefix owned by one test, and how to remove its keys afterwards. */
export interface FreshPrefix {
  /** `t-<name>-<8 hex>`: at most 32 characters of a-z, 0-9 and "-" (valid as `redis.prefix`). */
  prefix: string;
  /** Deletes every key starting with `prefix` (BullMQ queues included); resolves to the count. */
  cleanup(): Promise<number>;
}

/** A unique prefix derived from `name` (e.g. the test's name), for keys and BullMQ queues. */
export function freshPrefix(name: string): FreshPrefix {
  const slug =
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 20) || 'x';
  const prefix = `t-${slug}-${randomBytes(4).toString('hex')}`;
  return {
    prefix,
    async cleanup() {
      const redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1, lazyConnect: true });
      try {
        await redis.connect();
        let deleted = 0;
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
          cursor = next;
          if (keys.length > 0) deleted += await redis.unlink(...keys);
        } while (cursor !== '0');
        return deleted;
      } finally {
        redis.disconnect();
      }
    },
  };
}

/**
 * A real Tunnelgate for the bench: the runtime `tunnelgate all` (or `bot`, when the workers run as
 * separate processes) assembles, against the bench's Redis and a subset of a lab's hubs, with an
 * outlet that stamps every delivered message with the time it arrived.
 */
import { handleText } from '../../src/bot/dispatch.js';
import { type Runtime, startRuntime } from '../../src/cli/runtime.js';
import { TunnelgateConfig } from '../../src/config/schema.js';
import { UserId } from '../../src/core/ids.js';
import type { Logger } from '../../src/core/logger.js';
import type { Message } from '../../src/domain/models/reply.js';
import type { LabHub } from '../../src/lab/hub.js';
import { freshPrefix } from './redis.js';
import { tempDir } from './temp.js';
import { writeConfigFile } from './worker-process.js';

/** A delivered message and when it arrived (`performance.now()`). */
export interface Arrival {
  at: number;
  message: Message;
}

export interface BenchTunnelgateOptions {
  name: string;
  redisUrl: string;
  logger: Logger;
  hubs: readonly LabHub[];
  /** Merged into each hub's config entry. */
  hub?: (hub: LabHub) => Record<string, unknown>;
  /** Run hub and task workers in this process (default true); false for worker processes. */
  inProcessWorkers?: boolean;
}

export interface BenchTunnelgate {
  config: TunnelgateConfig;
  runtime: Runtime;
  /** Every delivered message, in order of arrival. */
  arrivals: Arrival[];
  /** Runs one `/vpn …` line as `user` through the bot's front door; returns the immediate replies. */
  run(user: string, line: string): Promise<Message[]>;
  /** The first arrival (past or future) matching `predicate`; rejects after `ms`. */
  waitFor(predicate: (m: Message) => boolean, ms?: number): Promise<Arrival>;
  /** Writes the config for `tunnelgate worker` processes; returns its path. */
  writeConfig(): string;
  stop(): Promise<void>;
}

/** Builds the validated config for `hubs` (leads: alice, bob; on-call: carol). */
export function benchConfig(
  options: Pick<BenchTunnelgateOptions, 'hubs' | 'hub' | 'redisUrl'> & { prefix: string; dataDir: string },
): TunnelgateConfig {
  return TunnelgateConfig.parse({
    redis: { url: options.redisUrl, prefix: options.prefix },
    dataDir: options.dataDir,
    hubs: options.hubs.map((hub) => ({
      ...hub.configEntry(),
      ssh: { connectTimeoutMs: 5_000, commandTimeoutMs: 60_000, idleTimeoutMs: 120_000, maxChannels: 8 },
      ...options.hub?.(hub),
    })),
    roles: { leads: ['alice', 'bob'], oncall: ['carol'] },
    worker: { lockDuration: '60s', stalledInterval: '30s', taskConcurrency: 8 },
  });
}

/** Starts the runtime; `stop()` closes it and removes its data directory. */
export async function startTunnelgate(options: BenchTunnelgateOptions): Promise<BenchTunnelgate> {
  const dir = tempDir('tg-bench-');
  const dataDir = dir.path;
  const config = benchConfig({ ...options, prefix: freshPrefix(options.name), dataDir });
  const arrivals: Arrival[] = [];
  const waiters = new Set<() => void>();
  const outlet = {
    async deliver(message: Message) {
      arrivals.push({ at: performance.now(), message });
      for (const wake of waiters) wake();
    },
  };
  let runtime: Runtime;
  try {
    runtime = await startRuntime({
      config,
      logger: options.logger,
      worker: options.inProcessWorkers ?? true,
      outlet,
    });
  } catch (err) {
    dir.remove();
    throw err;
  }
  return {
    config,
    runtime,
    arrivals,
    run: (user, line) => handleText(runtime.bot, { id: UserId.parse(user), platformRoles: [] }, line),
    async waitFor(predicate, ms = 120_000) {
      let seen = 0;
      const deadline = Date.now() + ms;
      for (;;) {
        for (; seen < arrivals.length; seen++) {
          const arrival = arrivals[seen];
          if (arrival !== undefined && predicate(arrival.message)) return arrival;
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no matching message within ${ms} ms`);
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            waiters.delete(wake);
            resolve();
          };
          const timer = setTimeout(wake, Math.min(left, 1_000));
          waiters.add(wake);
        });
      }
    },
    writeConfig: () => writeConfigFile(dataDir, config),
    async stop() {
      await runtime.close();
      dir.remove();
    },
  };
}

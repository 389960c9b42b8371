/**
 * Runs a real Tunnelgate (runtime, workers, notifier) against a lab and the suite's Redis, with a
 * fresh prefix, an outlet that records every message, and the log captured in memory — so a test
 * can drive commands as any user and inspect replies, Redis and logs afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { handleText } from '../../src/bot/dispatch.js';
import { type Runtime, startRuntime } from '../../src/cli/runtime.js';
import type { TunnelgateConfig } from '../../src/config/schema.js';
import { UserId } from '../../src/core/ids.js';
import type { Message, Reply } from '../../src/domain/models/reply.js';
import { type LabConfigOptions, labConfig } from '../../src/lab/config.js';
import type { Lab } from '../../src/lab/lab.js';
import { capturedLogger } from './captured-logger.js';
import { freshPrefix, redisUrl } from './redis.js';

export interface Harness {
  config: TunnelgateConfig;
  /** Holds the harness's key vault secret; a config file written here is found by worker processes. */
  dataDir: string;
  runtime: Runtime;
  prefix: string;
  /** Every message delivered so far, in order. */
  messages: Message[];
  /** Everything logged so far (JSON lines). */
  log(): string;
  /** Runs one `/vpn …` line as `user`; returns the immediate replies. */
  run(user: string, line: string): Promise<Message[]>;
  /** Waits until a delivered message matches, or fails after `ms`. */
  waitFor(predicate: (m: Message) => boolean, ms?: number): Promise<Message>;
  stop(): Promise<void>;
}

/** The first reply of a kind among messages. */
export function replyOf<K extends Reply['kind']>(
  messages: Message[],
  kind: K,
): Extract<Reply, { kind: K }> | undefined {
  return messages.find((m) => m.reply.kind === kind)?.reply as Extract<Reply, { kind: K }> | undefined;
}

export async function startHarness(
  lab: Lab,
  name: string,
  options: Partial<LabConfigOptions> & {
    inProcessWorkers?: boolean;
    env?: NodeJS.ProcessEnv;
    clock?: () => Date;
  } = {},
): Promise<Harness> {
  const fresh = freshPrefix(name);
  const dataDir = mkdtempSync(join(tmpdir(), 'tg-harness-'));
  const { inProcessWorkers = true, env, clock, ...overrides } = options;
  const config = labConfig(lab, {
    redisUrl: redisUrl(),
    prefix: fresh.prefix,
    dataDir,
    worker: { lockDuration: '5s', stalledInterval: '2s' },
    ...overrides,
  });
  const { logger, log } = capturedLogger();
  const messages: Message[] = [];
  const waiters: Array<() => void> = [];
  const outlet = {
    async deliver(message: Message) {
      messages.push(message);
      for (const wake of waiters.splice(0)) wake();
    },
  };
  const runtime = await startRuntime({
    config,
    logger,
    worker: inProcessWorkers,
    outlet,
    ...(env === undefined ? {} : { env: { ...process.env, ...env } }),
    ...(clock === undefined ? {} : { clock }),
  });
  return {
    config,
    dataDir,
    runtime,
    prefix: fresh.prefix,
    messages,
    log,
    async run(user, line) {
      const replies = await handleText(runtime.bot, { id: UserId.parse(user), platformRoles: [] }, line);
      messages.push(...replies);
      return replies;
    },
    async waitFor(predicate, ms = 45_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const found = messages.find(predicate);
        if (found !== undefined) return found;
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new Error(
            `no matching message within ${ms} ms; got: ${messages.map((m) => m.reply.kind).join(', ')}`,
          );
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(left, 500));
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    async stop() {
      await runtime.close();
      await fresh.cleanup();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

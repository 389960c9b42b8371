/**
 * A real bot (runtime without workers) on the suite's Redis with a fresh prefix and a config whose
 * one hub is never reached: for unit tests of command handlers, which validate, record and queue
 * but never touch a hub. The hub jobs they queue stay waiting in the hub's BullMQ queue.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { handleText } from '../../src/bot/dispatch.js';
import { type Runtime, startRuntime } from '../../src/cli/runtime.js';
import { TunnelgateConfig } from '../../src/config/schema.js';
import { UserId } from '../../src/core/ids.js';
import type { Message } from '../../src/domain/models/reply.js';
import { capturedLogger } from './captured-logger.js';
import { freshPrefix, redisUrl } from './redis.js';

export interface BotOnly {
  runtime: Runtime;
  /** Runs one `/vpn …` line as `user`; returns the immediate replies. */
  run(user: string, line: string): Promise<Message[]>;
  /** The payloads of the jobs waiting on hub1's queue. */
  hubJobs(): Promise<Array<Record<string, unknown>>>;
  stop(): Promise<void>;
}

/** Starts the bot with `policy` overrides; leads alice and bob, on-call carol. */
export async function startBotOnly(name: string, policy: Record<string, unknown> = {}): Promise<BotOnly> {
  const fresh = freshPrefix(name);
  const dataDir = mkdtempSync(join(tmpdir(), 'tg-bot-only-'));
  const config = TunnelgateConfig.parse({
    redis: { url: redisUrl(), prefix: fresh.prefix },
    dataDir,
    hubs: [
      {
        name: 'hub1',
        host: '192.0.2.10',
        user: 'root',
        privateKeyPath: join(dataDir, 'never-read'),
        hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl',
        endpoint: '192.0.2.10:51820',
        subnet: '10.6.0.0/24',
      },
    ],
    roles: { leads: ['alice', 'bob'], oncall: ['carol'] },
    policy,
  });
  const { logger } = capturedLogger();
  const runtime = await startRuntime({
    config,
    logger,
    worker: false,
    env: { TUNNELGATE_SECRET: 'a'.repeat(64) },
  });
  return {
    runtime,
    run: (user, line) => handleText(runtime.bot, { id: UserId.parse(user), platformRoles: [] }, line),
    async hubJobs() {
      const jobs = await runtime.bot.queues.hubQueue('hub1').getJobs(['waiting', 'delayed', 'prioritized']);
      return jobs.map((job) => job.data as Record<string, unknown>);
    },
    async stop() {
      await runtime.close();
      await fresh.cleanup();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

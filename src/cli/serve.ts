/**
 * `tunnelgate all | bot | worker`: long-running processes. Workers also keep the periodic
 * reconcile scheduled (one BullMQ job scheduler per hub, however many workers upsert it).
 */
import { DiscordAdapter } from '../adapters/discord/adapter.js';
import { LogOutlet } from '../adapters/log/log-outlet.js';
import { SlackAdapter } from '../adapters/slack/slack-adapter.js';
import type { TunnelgateConfig } from '../config/schema.js';
import { TunnelgateError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { within } from '../observability/within.js';
import { startObservability } from './observe.js';
import { ADAPTER_STOP_MS, processStopBoundMs, startRuntime } from './runtime.js';
import { onShutdown } from './signals.js';

export async function runServe(
  config: TunnelgateConfig,
  logger: Logger,
  role: 'all' | 'bot' | 'worker',
): Promise<number> {
  if (role !== 'all' && config.redis.url === undefined) {
    throw new TunnelgateError(
      'CONFIG_INVALID',
      `redis.url: tunnelgate ${role} shares Redis with other processes; set redis.url`,
      {
        hint: 'or run `tunnelgate all`, which can use its own embedded Redis',
      },
    );
  }
  // With a `slack` section, the bot's messages go to Slack (HTTP or Socket Mode).
  const slack =
    role !== 'worker' && config.slack !== undefined ? new SlackAdapter(config, logger) : undefined;
  // With a `discord` section holding a token, they go to Discord (the schema refuses both).
  const discord =
    role !== 'worker' && config.discord?.token !== undefined
      ? new DiscordAdapter(config.discord, logger)
      : undefined;
  const runtime = await startRuntime({
    config,
    logger,
    worker: role !== 'bot',
    ...(role === 'worker' ? {} : { outlet: slack?.outlet ?? discord?.outlet ?? new LogOutlet(logger) }),
  });
  await slack?.start(runtime.bot).catch(async (err: unknown) => {
    await runtime.close();
    throw err;
  });
  await discord?.start(runtime.bot).catch(async (err: unknown) => {
    await discord.close();
    await runtime.close();
    throw err;
  });
  if (role !== 'bot') await runtime.bot.queues.scheduleReconcile(config.policy.reconcileEvery);
  // And once now, so foreign peers are known (and their addresses reserved) before any approval.
  if (role !== 'bot') await runtime.bot.queues.reconcileNow();
  if (role !== 'bot') await runtime.bot.queues.scheduleReminders(config.policy.reminderCron);
  if (role !== 'bot') await runtime.bot.queues.scheduleReviews(config.policy.reminderCron);
  const observability = await startObservability(runtime, role !== 'bot');
  logger.info({ role, hubs: config.hubs.map((h) => h.name) }, 'tunnelgate running');
  await new Promise<void>((resolve) => {
    onShutdown(async () => {
      logger.info({ boundMs: processStopBoundMs(config) }, 'shutting down');
      // Every wait is bounded (processStopBoundMs): a hub reading or a chat socket still busy is
      // left behind, and closing the runtime's SSH connections cuts the reading.
      const stopping = Promise.all([observability.stopReadings(), slack?.stop(), discord?.close()]);
      await within(stopping, ADAPTER_STOP_MS);
      await runtime.close();
      await within(observability.close(), ADAPTER_STOP_MS);
      resolve();
    });
  });
  return 0;
}

/**
 * `tunnelgate all | bot | worker`: long-running processes. Workers also keep the periodic
 * reconcile scheduled (one BullMQ job scheduler per hub, however many workers upsert it).
 */
import { LogOutlet } from '../adapters/log/log-outlet.js';
import type { TunnelgateConfig } from '../config/schema.js';
import { TunnelgateError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { startRuntime } from './runtime.js';
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
  const runtime = await startRuntime({
    config,
    logger,
    worker: role !== 'bot',
    ...(role === 'worker' ? {} : { outlet: new LogOutlet(logger) }),
  });
  if (role !== 'bot') await runtime.bot.queues.scheduleReconcile(config.policy.reconcileEvery);
  logger.info({ role, hubs: config.hubs.map((h) => h.name) }, 'tunnelgate running');
  await new Promise<void>((resolve) => {
    onShutdown(async () => {
      logger.info('shutting down');
      await runtime.close();
      resolve();
    });
  });
  return 0;
}

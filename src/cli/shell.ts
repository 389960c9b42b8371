/** `tunnelgate shell`: the shell adapter on a runtime with in-process workers by default. */
import { randomBytes } from 'node:crypto';
import { runShell, ShellOutlet } from '../adapters/shell/shell.js';
import type { TunnelgateConfig } from '../config/schema.js';
import type { Logger } from '../core/logger.js';
import { startRuntime } from './runtime.js';
import { onShutdown } from './signals.js';

export async function runShellCommand(
  config: TunnelgateConfig,
  logger: Logger,
  options: { as: string; json: boolean; worker: boolean },
): Promise<number> {
  const user = { id: options.as };
  const outlet = new ShellOutlet(process.stdout, options.json, () => user.id);
  // Its own reply outlet: beside a running bot (`docker-compose exec bot tunnelgate shell`), the
  // replies to this session's commands come here, not to the bot's notify queue.
  const replyTo = `shell-${randomBytes(6).toString('hex')}`;
  const runtime = await startRuntime({ config, logger, worker: options.worker, outlet, replyTo });
  const stop = onShutdown(() => runtime.close());
  try {
    const errors = await runShell(
      runtime.bot,
      outlet,
      {
        as: options.as,
        json: options.json,
        input: process.stdin,
        output: process.stdout,
        interactive: process.stdin.isTTY === true,
      },
      user,
    );
    return errors > 0 ? 1 : 0;
  } finally {
    stop();
    await runtime.close();
  }
}

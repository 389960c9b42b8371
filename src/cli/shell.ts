/** `tunnelgate shell`: the shell adapter on a runtime with in-process workers by default. */
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
  const runtime = await startRuntime({ config, logger, worker: options.worker, outlet });
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

/** `tunnelgate reconcile`: reconciles hubs now (in-process workers) and prints the reports. */
import { ShellOutlet } from '../adapters/shell/shell.js';
import type { TunnelgateConfig } from '../config/schema.js';
import type { Logger } from '../core/logger.js';
import { pickHub } from '../domain/hubs.js';
import { HubJob } from '../queue/jobs.js';
import { startRuntime } from './runtime.js';

export async function runReconcile(
  config: TunnelgateConfig,
  logger: Logger,
  options: { hub?: string | undefined; json?: boolean | undefined },
): Promise<number> {
  const outlet = new ShellOutlet(process.stdout, options.json === true, () => 'operator');
  const runtime = await startRuntime({ config, logger, worker: true, outlet });
  try {
    const hubs = options.hub === undefined ? config.hubs.map((h) => h.name) : [pickHub(config, options.hub)];
    const stamp = Date.now();
    for (const hub of hubs) {
      const jobId = await runtime.bot.queues.addHub(
        HubJob.parse({ kind: 'reconcile', hub, by: 'operator', rebuild: true }),
        { jobId: `reconcile-${hub}-${stamp}` },
      );
      outlet.track(jobId);
    }
    await outlet.waitForJobs(120_000);
    return 0;
  } finally {
    await runtime.close();
  }
}

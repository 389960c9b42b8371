/**
 * `tunnelgate hub adopt HUB --owners FILE --as LEAD [--dry-run] [--json]`: adopts many hand-made
 * peers at once from an owners file (domain/owners-file.ts), all or none, through the hub's worker
 * (workers/adopt.ts), which re-checks that LEAD is a lead. `--dry-run` prints what would change.
 */
import { readFile } from 'node:fs/promises';
import { ShellOutlet } from '../adapters/shell/shell.js';
import type { TunnelgateConfig } from '../config/schema.js';
import { TunnelgateError } from '../core/errors.js';
import { HubName, UserId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import { pickHub } from '../domain/hubs.js';
import type { Message } from '../domain/models/reply.js';
import { parseOwnersFile } from '../domain/owners-file.js';
import { startRuntime } from './runtime.js';

/** Parsed `hub adopt` arguments. */
export interface HubAdoptArgs {
  hub: string;
  owners: string;
  as: string;
  dryRun: boolean;
  json: boolean;
}

/** Runs the adoption; exit code 0 when it (or the dry run) succeeded, 1 when the hub refused it. */
export async function runHubAdopt(
  config: TunnelgateConfig,
  logger: Logger,
  args: HubAdoptArgs,
): Promise<number> {
  const hub = HubName.parse(pickHub(config, args.hub));
  const by = UserId.safeParse(args.as);
  if (!by.success) throw new TunnelgateError('INPUT_INVALID', `--as ${args.as} is not a user id`);
  const text = await readFile(args.owners, 'utf8').catch((cause: unknown) => {
    throw new TunnelgateError('INPUT_INVALID', `cannot read the owners file ${args.owners}`, { cause });
  });
  const entries = parseOwnersFile(text);
  const shell = new ShellOutlet(process.stdout, args.json, () => by.data);
  let failed = 0;
  const outlet = {
    deliver: (message: Message) => {
      if (message.reply.kind === 'error') failed += 1;
      return shell.deliver(message);
    },
  };
  const runtime = await startRuntime({ config, logger, worker: true, outlet });
  try {
    const jobId = await runtime.bot.queues.addHub(
      { kind: 'adopt', hub, by: by.data, byRoles: [], entries, dryRun: args.dryRun },
      { jobId: `adopt-${hub}-${by.data}-${Date.now()}` },
    );
    shell.track(jobId);
    await shell.waitForJobs(120_000);
    return failed === 0 ? 0 : 1;
  } finally {
    await runtime.close();
  }
}

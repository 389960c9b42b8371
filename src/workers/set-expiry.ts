/**
 * The set-expiry job: writes a peer's new expiry (after an approved `/vpn extend`) into the
 * `# tunnelgate:` comment of its [Peer] section in the hub's config file. The file is the durable
 * record reconcile rebuilds Redis from, so without this a rebuilt inventory would bring back the
 * old expiry and remove the peer before its extended time.
 */
import { TunnelgateError } from '../core/errors.js';
import { hubConfig } from '../domain/hubs.js';
import { setExpiresStep } from '../hub/programs/expiry.js';
import { runScript } from '../hub/ssh/remote-script.js';
import type { HubJob } from '../queue/jobs.js';
import type { WorkerContext } from './context.js';

type SetExpiryJob = Extract<HubJob, { kind: 'set-expiry' }>;

/** What the job did: `gone` when the peer left the inventory before it ran. */
export type SetExpiryOutcome = 'updated' | 'unchanged' | 'absent' | 'gone';

/**
 * Writes the CURRENT inventory expiry of the job's peer into the hub file (so jobs that run out of
 * order still leave the latest one). Throws HUB_COMMAND_FAILED and the SSH errors (retried).
 */
export async function setExpiry(ctx: WorkerContext, job: SetExpiryJob): Promise<SetExpiryOutcome> {
  const record = await ctx.inventory.findByRequest(job.hub, job.requestId);
  if (record === null) return 'gone';
  const hub = hubConfig(ctx.config, job.hub);
  const results = await runScript(ctx.pool.get(hub.name), [
    setExpiresStep(hub, record.publicKey, record.expiresAt),
  ]);
  const outcome = results['set-expires']?.stdout.trim();
  if (outcome !== 'updated' && outcome !== 'unchanged' && outcome !== 'absent') {
    throw new TunnelgateError(
      'HUB_COMMAND_FAILED',
      `unexpected answer from hub ${hub.name}: ${outcome ?? ''}`,
      {
        hub: hub.name,
      },
    );
  }
  if (outcome === 'absent') {
    ctx.logger.warn(
      { hub: hub.name, peer: record.peer },
      'peer has no tunnelgate section in the hub config file; run tunnelgate reconcile',
    );
  }
  return outcome;
}

/**
 * The set-expiry job: writes a peer's new expiry (after an approved `/vpn extend`) into the
 * `# tunnelgate:` comment of its [Peer] section in the hub's config file. The file is the durable
 * record reconcile rebuilds Redis from, so without this a rebuilt inventory would bring back the
 * old expiry and remove the peer before its extended time.
 */
import { TunnelgateError } from '../core/errors.js';
import { programStep, registerHubProgram } from '../hub/programs/registry.js';
import { runScript } from '../hub/ssh/remote-script.js';
import type { HubJob } from '../queue/jobs.js';
import { hubConfig, type WorkerContext } from './context.js';

type SetExpiryJob = Extract<HubJob, { kind: 'set-expiry' }>;

/**
 * Sets `"expires"` in the metadata comment of peer $2's section in config file $1 to $3 (an ISO
 * time, or `null`), atomically (copy, change, fsync, rename). Prints `updated`, `unchanged` (a
 * rerun) or `absent` (no such peer, or its section has no metadata comment).
 */
export const SET_EXPIRES_SH = `set -eu
conf=$1
case $3 in
null | [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]*Z) ;;
*) echo "tunnelgate: not an expiry: $3" >&2; exit 64 ;;
esac
if ! grep -qF -- "$2" "$conf"; then echo absent; exit 0; fi
umask 077
tmp="$conf.tunnelgate.tmp"
awk -v key="$2" -v expires="$3" '
  { lines[NR] = $0 }
  END {
    value = expires == "null" ? "null" : "\\"" expires "\\""
    start = 0
    for (i = 1; i <= NR + 1; i++) {
      if (i > NR || lines[i] ~ /^[ \\t]*\\[/) {
        if (target && meta > 0) { sub(/"expires":("[^"]*"|null)/, "\\"expires\\":" value, lines[meta]); found = 1 }
        start = i; target = 0; meta = 0
      }
      if (i <= NR && start > 0) {
        line = lines[i]; sub(/^[ \\t]+/, "", line)
        if (index(line, "# tunnelgate:") == 1) meta = i
        if (tolower(substr(line, 1, 9)) == "publickey") {
          v = line; sub(/^[^=]*=[ \\t]*/, "", v); sub(/[ \\t\\r]+$/, "", v)
          if (v == key) target = 1
        }
      }
    }
    for (i = 1; i <= NR; i++) print lines[i]
    exit found ? 0 : 3
  }' "$conf" > "$tmp" || { rc=$?; rm -f "$tmp"; [ "$rc" -eq 3 ] && { echo absent; exit 0; }; exit "$rc"; }
if cmp -s "$tmp" "$conf"; then rm -f "$tmp"; echo unchanged; exit 0; fi
sync "$tmp"
mv -f "$tmp" "$conf"
sync "$(dirname "$conf")"
echo updated`;
const SET_EXPIRES = registerHubProgram('tunnelgate-set-expires', SET_EXPIRES_SH);

/** What the job did: `gone` when the peer left the inventory before it ran. */
export type SetExpiryOutcome = 'updated' | 'unchanged' | 'absent' | 'gone';

/** The job id for one extension, so a retried approval queues it once. */
export function setExpiryJobId(requestId: string, expiresAt: string): string {
  return `set-expiry-${requestId}-${Date.parse(expiresAt)}`;
}

/**
 * Writes the CURRENT inventory expiry of the job's peer into the hub file (so jobs that run out of
 * order still leave the latest one). Throws HUB_COMMAND_FAILED and the SSH errors (retried).
 */
export async function setExpiry(ctx: WorkerContext, job: SetExpiryJob): Promise<SetExpiryOutcome> {
  const record = await ctx.inventory.findByRequest(job.hub, job.requestId);
  if (record === null) return 'gone';
  const hub = hubConfig(ctx.config, job.hub);
  const results = await runScript(ctx.pool.get(hub.name), [
    programStep('set-expires', SET_EXPIRES, [hub.configPath, record.publicKey, record.expiresAt ?? 'null']),
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

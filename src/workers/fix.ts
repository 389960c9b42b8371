/**
 * The fix hub job: applies one approved, stored finding's action with constant programs and
 * positional arguments only, then runs the report it came from again and sends both results to
 * the proposer and the approver. Forwarding is also persisted in the sysctl drop-in; the
 * masquerade rule is live only, and the messages say what to persist by hand.
 */

import type { HubConfig } from '../config/schema.js';
import { TunnelgateError as TgError, type TunnelgateError } from '../core/errors.js';
import { FORWARD_DROP_IN } from '../domain/hub-paths.js';
import type { FixAction } from '../domain/models/diagnosis.js';
import type { Message, Reply } from '../domain/models/reply.js';
import { describeAction } from '../domain/render-diagnosis.js';
import { programStep, registerHubProgram } from '../hub/programs/registry.js';
import { runScript, type Step } from '../hub/ssh/remote-script.js';
import type { HubJob } from '../queue/jobs.js';
import { FindingStore } from '../store/findings.js';
import { buildAudit } from './audit.js';
import { hubConfig, type WorkerContext } from './context.js';
import { buildDiagnosis } from './diagnose.js';

type FixJob = Extract<HubJob, { kind: 'fix' }>;

/** Adds `oifname $1 ip saddr $2 masquerade` to ip nat postrouting, creating table and chain if missing. */
export const ADD_MASQUERADE_SH = `set -eu
nft list table ip nat >/dev/null 2>&1 || nft add table ip nat
nft list chain ip nat postrouting >/dev/null 2>&1 || nft add chain ip nat postrouting '{ type nat hook postrouting priority srcnat; policy accept; }'
nft add rule ip nat postrouting oifname "$1" ip saddr "$2" masquerade
echo added`;
const MASQUERADE = registerHubProgram('tunnelgate-masquerade', ADD_MASQUERADE_SH);

/**
 * Turns IPv4 forwarding on in the running kernel and in the sysctl drop-in (added to the file if
 * it exists without it, else written atomically), so it survives a reboot. Idempotent.
 */
export const ENABLE_FORWARDING_SH = `set -eu
sysctl -w net.ipv4.ip_forward=1
file=${FORWARD_DROP_IN}
if [ -f "$file" ] && grep -qx 'net.ipv4.ip_forward *= *1' "$file"; then echo "kept $file"; exit 0; fi
mkdir -p "$(dirname "$file")"
tmp="$file.tunnelgate.tmp"
umask 022
{
  if [ -f "$file" ]; then grep -vx 'net.ipv4.ip_forward *=.*' "$file" || true
  else echo '# Written by Tunnelgate (an approved /vpn fix): this hub routes tunnel traffic onward.'; fi
  echo 'net.ipv4.ip_forward=1'
} > "$tmp"
sync "$tmp"
mv -f "$tmp" "$file"
echo "wrote $file"`;
const FORWARDING = registerHubProgram('tunnelgate-forwarding', ENABLE_FORWARDING_SH);

/** `chmod 600` the regular files given (a symlink or anything else is refused, nothing changed). */
export const CHMOD_PRIVATE_SH = `set -eu
for f in "$@"; do
  if [ -L "$f" ] || [ ! -f "$f" ]; then echo "tunnelgate: not a regular file: $f" >&2; exit 64; fi
done
exec chmod 600 -- "$@"`;
const CHMOD_PRIVATE = registerHubProgram('tunnelgate-chmod-private', CHMOD_PRIVATE_SH, {
  configDirArgs: true,
});

/** The steps that apply an action. Throws INPUT_INVALID for a path not directly in the config directory. */
export function fixSteps(hub: HubConfig, action: FixAction): Step[] {
  switch (action.type) {
    case 'enable-forwarding':
      return [programStep('forwarding', FORWARDING, [])];
    case 'add-masquerade':
      return [programStep('masquerade', MASQUERADE, [action.egressInterface, action.subnet])];
    case 'chmod-600': {
      const dir = hub.configPath.slice(0, hub.configPath.lastIndexOf('/') + 1);
      const outside = action.paths.filter((p) => {
        const name = p.slice(dir.length);
        return !p.startsWith(dir) || name.includes('/') || name === '' || name === '.' || name === '..';
      });
      if (outside.length > 0) {
        throw new TgError('INPUT_INVALID', `refusing to chmod outside ${dir}: ${outside.join(', ')}`);
      }
      return [programStep('chmod', CHMOD_PRIVATE, action.paths)];
    }
    default: {
      const unreachable: never = action;
      throw new TgError('INTERNAL', `unknown fix ${JSON.stringify(unreachable)}`);
    }
  }
}

function recipients(job: FixJob): Message['to'][] {
  const to: Message['to'][] = [{ type: 'user', id: job.approvedBy }];
  if (job.proposedBy !== job.approvedBy) to.push({ type: 'user', id: job.proposedBy });
  return to;
}

/** Applies the fix and reports; throws NOT_FOUND when the finding expired meanwhile. */
export async function applyFix(ctx: WorkerContext, job: FixJob, jobId?: string): Promise<string[]> {
  const store = new FindingStore(ctx.redis, ctx.config.redis.prefix);
  const record = await store.get(job.findingId);
  const action = record?.finding.action;
  if (record === null || action === undefined) {
    throw new TgError('NOT_FOUND', `finding ${job.findingId} is unknown or expired`, {
      hint: 'run /vpn diagnose or /vpn audit again and propose the fix anew',
    });
  }
  const hub = hubConfig(ctx.config, job.hub);
  await runScript(ctx.pool.get(hub.name), fixSteps(hub, action));
  const changed = describeAction(action, hub.interface);
  await store.remove(job.findingId);
  await ctx.audit.append({
    at: ctx.clock().toISOString(),
    actor: job.approvedBy,
    action: 'fix',
    hub: hub.name,
    target: job.findingId,
    result: 'ok',
    detail: `${record.finding.check} proposed by ${job.proposedBy}`,
  });
  const report: Reply =
    record.source === 'audit'
      ? { kind: 'audit.report', report: await buildAudit(ctx, hub.name) }
      : { kind: 'diagnose.report', report: await buildDiagnosis(ctx, hub.name, record.peer) };
  const applied: Reply = {
    kind: 'fix.applied',
    hub: hub.name,
    findingId: record.finding.id,
    proposedBy: job.proposedBy,
    approvedBy: job.approvedBy,
    changed,
  };
  const messages: Message[] = recipients(job).flatMap((to) => [
    { to, private: true, reply: applied },
    { to, private: true, reply: report },
  ]);
  const last = messages.at(-1);
  if (last !== undefined) Object.assign(last, { jobId, final: true });
  await ctx.notify(messages, jobId);
  return changed;
}

/** Tells the approver and proposer that the fix could not be applied. */
export async function fixFailed(
  ctx: WorkerContext,
  job: FixJob,
  error: TunnelgateError,
  jobId?: string,
): Promise<void> {
  const reply: Reply = {
    kind: 'notice',
    text: `fix ${job.findingId} on ${job.hub} failed: ${error.message}`,
  };
  const messages: Message[] = recipients(job).map((to) => ({ to, private: true, reply }));
  const last = messages.at(-1);
  if (last !== undefined) Object.assign(last, { jobId, final: true });
  await ctx.notify(messages, jobId);
}

/**
 * The program that writes a peer's expiry into its `# tunnelgate:` comment in the hub's config
 * file (after an approved `/vpn extend`), and its step.
 */
import type { HubConfig } from '../../config/schema.js';
import type { Step } from '../ssh/remote-script.js';
import { hubProgram, programStep } from './registry.js';

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
export const SET_EXPIRES = hubProgram('tunnelgate-set-expires', SET_EXPIRES_SH, { arity: 3, configArg: 1 });

/** Step `set-expires`: the expiry of peer `publicKey` (null: none) into the hub's config file. */
export function setExpiresStep(hub: HubConfig, publicKey: string, expiresAt: string | null): Step {
  return programStep('set-expires', SET_EXPIRES, [hub.configPath, publicKey, expiresAt ?? 'null']);
}

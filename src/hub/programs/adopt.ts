/**
 * The program that puts a hand-made peer under management: it adds Tunnelgate's `# tunnelgate:`
 * metadata comment to that peer's existing [Peer] section in the hub's config file, right after
 * the header, and keeps every other byte of the file (the section's own lines and comments too).
 * A live-only peer has no section: adoption appends one with the existing `tunnelgate-persist`.
 */
import type { HubConfig } from '../../config/schema.js';
import type { Step } from '../ssh/remote-script.js';
import { hubProgram, programStep } from './registry.js';

/**
 * Adds the metadata line on stdin (a `[Peer]` line, then the `# tunnelgate:` line: the shape every
 * hub program's input has) to the [Peer] section of $2 in config file $1, atomically (copy,
 * change, fsync, rename), with the section's line ending (CRLF kept). Prints `adopted`,
 * `unchanged` (a rerun: the section already has exactly this line), `managed` (it has another
 * metadata line), `absent` (no section for $2) or `duplicate` (more than one).
 */
export const ADOPT_PEER_SH = `set -eu
conf=$1
meta=$(grep -e '^# tunnelgate: {' | head -n 1)
case $meta in
'# tunnelgate: {'*'}') ;;
*) echo "tunnelgate: not a metadata line" >&2; exit 64 ;;
esac
umask 077
tmp="$conf.tunnelgate.tmp"
awk -v key="$2" -v meta="$meta" '
  { lines[NR] = $0 }
  END {
    start = 0; count = 0
    for (i = 1; i <= NR + 1; i++) {
      if (i > NR || lines[i] ~ /^[ \\t]*\\[/) {
        if (target) { count++; at = start; had = tagged }
        start = i; target = 0; tagged = ""
      }
      if (i <= NR && start > 0) {
        line = lines[i]; sub(/^[ \\t]+/, "", line)
        if (index(line, "# tunnelgate:") == 1) { tagged = line; sub(/[ \\t\\r]+$/, "", tagged) }
        if (tolower(substr(line, 1, 9)) == "publickey") {
          v = line; sub(/^[^=]*=[ \\t]*/, "", v); sub(/[ \\t\\r]+$/, "", v)
          if (v == key) target = 1
        }
      }
    }
    if (count == 0) exit 3
    if (count > 1) exit 4
    if (had == meta) exit 6
    if (had != "") exit 5
    cr = (lines[at] ~ /\\r$/) ? "\\r" : ""
    for (i = 1; i <= NR; i++) { print lines[i]; if (i == at) print meta cr }
  }' "$conf" > "$tmp" || {
  rc=$?
  rm -f "$tmp"
  case $rc in
  3) echo absent ;;
  4) echo duplicate ;;
  5) echo managed ;;
  6) echo unchanged ;;
  *) exit "$rc" ;;
  esac
  exit 0
}
sync "$tmp"
mv -f "$tmp" "$conf"
sync "$(dirname "$conf")"
echo adopted`;

/** The lines `tunnelgate-adopt` reads: `[Peer]` and a metadata comment of validated values (no spaces). */
export const META_LINE = '\\[Peer\\]|# tunnelgate: \\{[A-Za-z0-9"_:,.+-]*\\}';

export const ADOPT = hubProgram('tunnelgate-adopt', ADOPT_PEER_SH, {
  inputLine: META_LINE,
  arity: 2,
  configArg: 1,
});

/** Step `name`: the metadata comment `metaLine` into the existing section of `publicKey`. */
export function adoptStep(name: string, hub: HubConfig, publicKey: string, metaLine: string): Step {
  return programStep(name, ADOPT, [hub.configPath, publicKey], { input: `[Peer]\n${metaLine}\n` });
}

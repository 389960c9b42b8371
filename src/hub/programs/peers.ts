/**
 * The steps a hub job runs, as argv arrays for one batched remote script (`runScript`). Where a
 * step needs shell logic, the program text is a constant below and every variable part is a
 * positional argument ($1, $2…) that was validated before it got here: nothing from chat is ever
 * spliced into program text. File edits are atomic: copy, change, fsync, rename, mode 600.
 */
import type { HubConfig } from '../../config/schema.js';
import { HIDDEN } from '../../wg/dump.js';
import type { Step } from '../ssh/remote-script.js';
import { HOLDERS_SH } from './holders.js';
import { hubProgram, programStep } from './registry.js';

/** Exit 0 when the config file ($1) has a [Peer] whose PublicKey is $2. */
const HAS_PEER = `awk -v k="$2" '
  { line = $0; sub(/^[ \\t]+/, "", line) }
  tolower(substr(line, 1, 9)) == "publickey" {
    v = line; sub(/^[^=]*=[ \\t]*/, "", v); sub(/[ \\t\\r]+$/, "", v)
    if (v == k) { found = 1; exit }
  }
  END { exit found ? 0 : 1 }' "$1"`;

/**
 * Appends stdin (a rendered [Peer] section) to config file $2 unless peer $3 is already there. The
 * section's AllowedIPs are checked first, under the lock, against every other peer on interface $1
 * and in the file (holders.ts): the file never gets an address another peer holds either.
 */
export const APPEND_PEER_SH = `set -eu
${HOLDERS_SH}
iface=$1
set -- "$2" "$3"
conf=$1
if ${HAS_PEER}; then echo present; exit 0; fi
section=$(cat; echo x)
section=\${section%x}
tg_lock "$conf"
ips=$(tg_section_ips "$section")
[ -z "$ips" ] || tg_free "$iface" "$conf" "$ips" "$2"
umask 077
tmp="$conf.tunnelgate.tmp"
printf '%s' "$section" | cat "$conf" - > "$tmp"
sync "$tmp"
mv -f "$tmp" "$conf"
sync "$(dirname "$conf")"
echo appended`;

/**
 * An awk program (quoted for sh) that prints its input without the [Peer] sections whose
 * PublicKey is in the awk variable `keys` (space-separated). A section is what `wg/conf.ts` calls
 * one: its header and body, with the blank and comment lines right above the header from the
 * first blank line of that run on (for a section Tunnelgate appended, the one blank line
 * `renderPeerSection` adds); the comment block above the NEXT header stays with that next section.
 * So removing a hand-made peer keeps every other byte. Keys are compared as strings, never as
 * patterns.
 */
export const DROP_PEERS_AWK = `'
  function blank(s) { return s ~ /^[ \\t\\r]*$/ }
  function plain(s) { return s ~ /^[ \\t]*#/ && s !~ /^# tunnelgate:/ }
  BEGIN { n = split(keys, list, " "); for (i = 1; i <= n; i++) wanted[list[i]] = 1 }
  { lines[NR] = $0 }
  END {
    h = 0
    for (i = 1; i <= NR; i++) if (lines[i] ~ /^[ \\t]*\\[/) head[++h] = i
    for (k = 1; k <= h; k++) {
      floor = k > 1 ? head[k - 1] : 0
      s = head[k]
      while (s - 1 > floor && (blank(lines[s - 1]) || plain(lines[s - 1]))) s--
      while (s < head[k] && !blank(lines[s])) s++
      lead[k] = s
    }
    lead[h + 1] = NR + 1
    for (k = 1; k <= h; k++) {
      target = 0
      for (i = head[k] + 1; i < lead[k + 1]; i++) {
        line = lines[i]; sub(/^[ \\t]+/, "", line)
        if (tolower(substr(line, 1, 9)) == "publickey") {
          v = line; sub(/^[^=]*=[ \\t]*/, "", v); sub(/[ \\t\\r]+$/, "", v)
          if (v in wanted) target = 1
        }
      }
      if (target) for (i = lead[k]; i < lead[k + 1]; i++) drop[i] = 1
    }
    for (i = 1; i <= NR; i++) if (!(i in drop)) print lines[i]
  }'`;

/**
 * Removes the [Peer] section of $2 from $1, with the blank line that precedes it (the one
 * `renderPeerSection` adds), so add-then-remove restores the file byte for byte.
 */
export const REMOVE_PEER_SH = `set -eu
conf=$1
if ! ${HAS_PEER}; then echo absent; exit 0; fi
umask 077
tmp="$conf.tunnelgate.tmp"
awk -v keys="$2" ${DROP_PEERS_AWK} "$conf" > "$tmp"
sync "$tmp"
mv -f "$tmp" "$conf"
sync "$(dirname "$conf")"
echo removed`;

/**
 * Prints `hub <public key>` of interface $1, `live <allowed-ips>` of peer $2 there (or `live -`),
 * and `file yes|no` for peer $2 in config file $3. One dump serves both reads (wireguard-go lists
 * every peer for any query); only the interface's public-key field is printed, never its private key.
 */
export const CHECK_PEER_SH = `set -eu
wg show "$1" dump | awk -F '\\t' -v k="$2" '
  NR == 1 { print "hub " $2; next }
  $1 == k { ips = $4 }
  END { print "live " (ips == "" ? "-" : ips) }'
set -- "$3" "$2"
if ${HAS_PEER}; then echo "file yes"; else echo "file no"; fi`;

/** What CHECK_PEER_SH reported. */
export interface PeerCheck {
  /** The hub interface's public key. */
  hubPublicKey: string | null;
  /** AllowedIPs on the live interface; null when the peer is not there. */
  liveAllowedIps: string[] | null;
  inFile: boolean;
}

/** Parses CHECK_PEER_SH output. */
export function parsePeerCheck(stdout: string): PeerCheck {
  let liveAllowedIps: string[] | null = null;
  let inFile = false;
  let hubPublicKey: string | null = null;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('hub ')) {
      hubPublicKey = line.slice(4).trim() || null;
    } else if (line.startsWith('live ')) {
      const value = line.slice(5).trim();
      liveAllowedIps = value === '-' || value === '(none)' ? null : value.split(/[\s,]+/).filter(Boolean);
    } else if (line === 'file yes') {
      inFile = true;
    }
  }
  return { hubPublicKey, liveAllowedIps, inFile };
}

/**
 * `wg set $1 peer $2 allowed-ips $3`: adds peer $2 live, or replaces its addresses, unless another
 * peer holds one of them live or in config file $4 (then it names the holders and exits 65 with
 * nothing changed, see holders.ts).
 */
export const WG_SET_SH = `set -eu
${HOLDERS_SH}
tg_lock "$4"
tg_free "$1" "$4" "$3" "$2"
wg set "$1" peer "$2" allowed-ips "$3"`;
/** `wg set $1 peer $2`: adds peer $2 live without addresses, or leaves an existing one alone. */
export const WG_STAGE_SH = 'exec wg set "$1" peer "$2"';
/** `wg set $1 peer $2 remove`: removes peer $2 from the live interface (a no-op when absent). */
export const WG_REMOVE_SH = 'exec wg set "$1" peer "$2" remove';
// `wg` itself is not in the least-privilege sudoers entry: these three are all the bot changes live.
export const WG_SET = hubProgram('tunnelgate-wg-set', WG_SET_SH, {
  arity: 4,
  interfaceFirst: true,
  configArg: 4,
});
export const WG_STAGE = hubProgram('tunnelgate-wg-stage', WG_STAGE_SH, { arity: 2, interfaceFirst: true });
export const WG_REMOVE = hubProgram('tunnelgate-wg-remove', WG_REMOVE_SH, { arity: 2, interfaceFirst: true });

/** Step `wg-set`: peer `publicKey` live on the hub's interface with exactly `allowedIps`. */
export function wgSetStep(hub: HubConfig, publicKey: string, allowedIps: readonly string[]): Step {
  return programStep('wg-set', WG_SET, [hub.interface, publicKey, allowedIps.join(','), hub.configPath]);
}

/** Step `name`: peer `publicKey` live without touching the addresses of an existing peer. */
export function wgStageStep(name: string, hub: HubConfig, publicKey: string): Step {
  return programStep(name, WG_STAGE, [hub.interface, publicKey]);
}

/** Step `name`: peer `publicKey` off the live interface. */
export function wgRemoveStep(name: string, hub: HubConfig, publicKey: string): Step {
  return programStep(name, WG_REMOVE, [hub.interface, publicKey]);
}

/** Steps that add a peer live and to the config file, then report what the hub now holds. */
export function provisionSteps(
  hub: HubConfig,
  peer: { publicKey: string; allowedIps: readonly string[]; section: string },
): Step[] {
  return [
    wgSetStep(hub, peer.publicKey, peer.allowedIps),
    persistStep('persist', hub, peer.publicKey, peer.section),
    checkStep(hub, peer.publicKey),
  ];
}

/** Step `name`: appends `section` (a rendered [Peer] section of `publicKey`) to the config file. */
export function persistStep(name: string, hub: HubConfig, publicKey: string, section: string): Step {
  return programStep(name, PERSIST, [hub.interface, hub.configPath, publicKey], { input: section });
}

/** Steps that remove a peer live and from the config file, then report what is left. */
export function removeSteps(hub: HubConfig, publicKey: string): Step[] {
  return [
    wgRemoveStep('wg-remove', hub, publicKey),
    programStep('unpersist', UNPERSIST, [hub.configPath, publicKey]),
    checkStep(hub, publicKey),
  ];
}

/** The read-only verification step for one peer. */
export function checkStep(hub: HubConfig, publicKey: string): Step {
  return programStep('check', CHECK, [hub.interface, publicKey, hub.configPath]);
}

/**
 * `wg show <if> dump` with the interface's private key replaced by `(hidden)` on the hub, so the
 * hub's key never crosses SSH into worker memory.
 */
export const DUMP_SH = `set -eu
wg show "$1" dump | awk 'BEGIN { OFS = "\\t" } NR == 1 { $1 = "${HIDDEN}" } { print }' FS='\\t'`;

/** The config file without its PrivateKey lines, for the same reason. */
export const READ_CONF_SH = `set -eu
sed '/^[[:space:]]*[Pp][Rr][Ii][Vv][Aa][Tt][Ee][Kk][Ee][Yy][[:space:]]*=/d' "$1"`;

/**
 * The programs above, registered so a bootstrapped hub has them installed for sudo mode. A
 * [Peer] section for `tunnelgate-persist` holds only these lines (no `PostUp`, no `[Interface]`).
 */
/** The lines a [Peer] section written by Tunnelgate may hold (grep -E, whole line). */
export const PEER_SECTION_LINE =
  '(\\[Peer\\]|# .*|(PublicKey|AllowedIPs|PersistentKeepalive|PresharedKey) = [A-Za-z0-9+/=.:, ]*)?';

export const PERSIST = hubProgram('tunnelgate-persist', APPEND_PEER_SH, {
  arity: 3,
  interfaceFirst: true,
  configArg: 2,
  inputLine: PEER_SECTION_LINE,
});
export const UNPERSIST = hubProgram('tunnelgate-unpersist', REMOVE_PEER_SH, { arity: 2, configArg: 1 });
export const CHECK = hubProgram('tunnelgate-check', CHECK_PEER_SH, {
  arity: 3,
  interfaceFirst: true,
  configArg: 3,
});
export const DUMP = hubProgram('tunnelgate-dump', DUMP_SH, { arity: 1, interfaceFirst: true });
export const READ_CONF = hubProgram('tunnelgate-conf', READ_CONF_SH, { arity: 1, configArg: 1 });

/** Read-only step: the live dump (private key hidden). */
export function dumpStep(hub: HubConfig): Step {
  return programStep('dump', DUMP, [hub.interface]);
}

/** Read-only step: the config file (private key lines removed). */
export function readConfStep(hub: HubConfig): Step {
  return programStep('conf', READ_CONF, [hub.configPath]);
}

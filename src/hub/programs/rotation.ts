/**
 * The hub steps of a key rotation (see workers/rotate.ts), as constant sh programs with positional
 * arguments only, like workers/hub-steps.ts. Config file edits are atomic (copy, change, fsync,
 * rename, mode 600) and idempotent, so a crashed rotation can run any step again.
 */
import type { HubConfig } from '../../config/schema.js';
import { formatPeerMetaLine, type PeerMeta } from '../../wg/peer-meta.js';
import type { Step } from '../ssh/remote-script.js';
import { HOLDERS_SH } from './holders.js';
import {
  CHECK,
  DROP_PEERS_AWK,
  PEER_SECTION_LINE,
  PERSIST,
  UNPERSIST,
  wgRemoveStep,
  wgStageStep,
} from './peers.js';
import { hubProgram, programStep } from './registry.js';

/**
 * Reads stdin (the new key's final section) into $section, refusing (exit 64) a section whose
 * AllowedIPs are not exactly the addresses moved ($ips): the file gets what the holder check saw.
 */
const READ_FINAL_SECTION = `section=$(cat; echo x)
section=\${section%x}
if [ "$(tg_section_ips "$section")" != "$ips" ]; then
  echo "tunnelgate: refused: the section's AllowedIPs are not $ips" >&2
  exit 64
fi`;

/**
 * Writes the committed config file: config file $1 without the [Peer] sections of $2 (old key)
 * and $3 (new key), then $section (the new key's final section, see READ_FINAL_SECTION) appended, atomically (copy, change,
 * fsync, rename, mode 600). Removing both and appending makes a rerun give the same bytes.
 */
const WRITE_COMMITTED = `umask 077
tmp="$conf.tunnelgate.tmp"
awk -v keys="$old $new" ${DROP_PEERS_AWK} "$conf" > "$tmp"
printf '%s' "$section" >> "$tmp"
sync "$tmp"
mv -f "$tmp" "$conf"
sync "$(dirname "$conf")"`;

/**
 * Waits on the hub for the staged key ($4) to handshake on interface $1, polling its latest
 * handshake locally every $7 seconds for at most $6 whole seconds. The moment it comes, in this
 * same program: the config file $2 is committed first (the old key's section gone, the new key's
 * final section from stdin, see WRITE_COMMITTED), then ONE `wg set` removes the old key ($3) and
 * gives the new one the addresses ($5, comma-separated). File first: a hub restart at any point
 * after the handshake brings up the new key with the address and never the old one. Prints one
 * word: `moved` (now or earlier), `waiting` (no handshake yet), `missing` (the staged key is not
 * on the interface) or `old-missing` (the old key is gone, e.g. revoked: nothing is changed).
 * Before the commit, under the hub programs' lock, a peer other than the two keys holding one of
 * the addresses stops it with exit 65 and the holders named (holders.ts): nothing is changed.
 */
export const WATCH_AND_MOVE_SH = `set -eu
${HOLDERS_SH}
iface=$1; conf=$2; old=$3; new=$4; ips=$5
${READ_FINAL_SECTION}
ips_of() { wg show "$iface" allowed-ips | awk -v k="$1" '$1 == k { $1 = ""; sub(/^ /, ""); print "[" $0 "]"; exit }'; }
holds_all() {
  have=$(ips_of "$new" | tr ' ' ',')
  for ip in $(echo "$ips" | tr ',' ' '); do
    case ",$(echo "$have" | tr -d '[]')," in *",$ip,"*) ;; *) return 1 ;; esac
  done
}
if holds_all; then echo moved; exit 0; fi
if [ -z "$(ips_of "$old")" ]; then echo old-missing; exit 0; fi
end=$(( $(date +%s) + $6 ))
while :; do
  hs=$(wg show "$iface" latest-handshakes | awk -v k="$new" '$1 == k { print $2; exit }')
  if [ -z "$hs" ]; then echo missing; exit 0; fi
  if [ "$hs" != 0 ]; then break; fi
  if [ "$(date +%s)" -ge "$end" ]; then echo waiting; exit 0; fi
  sleep "$7"
done
tg_lock "$conf"
tg_free "$iface" "$conf" "$ips" "$old" "$new"
${WRITE_COMMITTED}
wg set "$iface" peer "$old" remove peer "$new" allowed-ips "$ips"
echo moved`;

/**
 * Brings hub interface $1 and config file $2 to the committed state of a rotation from old key
 * $3 to new key $4 with addresses $5, whatever happened since the move (a hub restart, a crashed
 * worker, a rerun): the file gets the new key's final section (stdin) and loses the old key's;
 * live, ONE `wg set` removes the old key and gives the new one the addresses. Idempotent. Like
 * the watch, it changes nothing and exits 65 naming the holders when another peer holds one.
 */
export const COMMIT_ROTATION_SH = `set -eu
${HOLDERS_SH}
iface=$1; conf=$2; old=$3; new=$4; ips=$5
${READ_FINAL_SECTION}
tg_lock "$conf"
tg_free "$iface" "$conf" "$ips" "$old" "$new"
${WRITE_COMMITTED}
wg set "$iface" peer "$old" remove peer "$new" allowed-ips "$ips"
echo committed`;

/** The staged key's section: its metadata (with `rotatedFrom`) and no AllowedIPs yet. */
export function stagedSection(publicKey: string, meta: PeerMeta): string {
  return ['', '[Peer]', formatPeerMetaLine(meta), `PublicKey = ${publicKey}`, ''].join('\n');
}

/** The new key's final section, as `renderPeerSection` writes a provisioned peer. */
export function committedSection(publicKey: string, allowedIps: readonly string[], meta: PeerMeta): string {
  return [
    '',
    '[Peer]',
    formatPeerMetaLine(meta),
    `PublicKey = ${publicKey}`,
    `AllowedIPs = ${allowedIps.join(', ')}`,
    '',
  ].join('\n');
}

/** Registered so a bootstrapped (least-privilege) hub has them installed for sudo mode. */
export const WATCH = hubProgram('tunnelgate-watch', WATCH_AND_MOVE_SH, {
  arity: 7,
  interfaceFirst: true,
  inputLine: PEER_SECTION_LINE,
  configArg: 2,
});
export const COMMIT = hubProgram('tunnelgate-commit', COMMIT_ROTATION_SH, {
  arity: 5,
  interfaceFirst: true,
  inputLine: PEER_SECTION_LINE,
  configArg: 2,
});

function check(hub: HubConfig, name: string, publicKey: string): Step {
  return programStep(name, CHECK, [hub.interface, publicKey, hub.configPath]);
}

/** Adds the new key to the interface without AllowedIPs and its staged section to the file. */
export function stageSteps(hub: HubConfig, newPublicKey: string, section: string): Step[] {
  return [
    wgStageStep('wg-stage', hub, newPublicKey),
    programStep('persist', PERSIST, [hub.interface, hub.configPath, newPublicKey], { input: section }),
    check(hub, 'check-new', newPublicKey),
  ];
}

/**
 * Waits up to `sliceSec` for the new key's handshake; when it comes, commits the file (`section`
 * is the new key's final section) and moves the addresses, in the same hub program.
 */
export function watchSteps(
  hub: HubConfig,
  keys: { oldPublicKey: string; newPublicKey: string },
  allowedIps: readonly string[],
  section: string,
  timing: { sliceSec: number; pollSec: number },
): Step[] {
  return [
    programStep(
      'watch',
      WATCH,
      [
        hub.interface,
        hub.configPath,
        keys.oldPublicKey,
        keys.newPublicKey,
        allowedIps.join(','),
        String(Math.max(1, Math.floor(timing.sliceSec))),
        String(timing.pollSec),
      ],
      { input: section },
    ),
  ];
}

/**
 * Brings the file and the live interface to the committed state (idempotent: the first thing a
 * resumed rotation does after the move), then reports both keys.
 */
export function commitSteps(
  hub: HubConfig,
  keys: { oldPublicKey: string; newPublicKey: string },
  allowedIps: readonly string[],
  section: string,
): Step[] {
  return [
    programStep(
      'commit',
      COMMIT,
      [hub.interface, hub.configPath, keys.oldPublicKey, keys.newPublicKey, allowedIps.join(',')],
      { input: section },
    ),
    ...rotationCheckSteps(hub, keys),
  ];
}

/** Read-only: what the hub holds of both keys, live and in the file (`check-new`, `check-old`). */
export function rotationCheckSteps(
  hub: HubConfig,
  keys: { oldPublicKey: string; newPublicKey: string },
): Step[] {
  return [check(hub, 'check-new', keys.newPublicKey), check(hub, 'check-old', keys.oldPublicKey)];
}

/** Removes the staged key from the interface and the file; reports both keys. */
export function rollbackSteps(hub: HubConfig, keys: { oldPublicKey: string; newPublicKey: string }): Step[] {
  return [
    wgRemoveStep('wg-unstage', hub, keys.newPublicKey),
    programStep('unpersist', UNPERSIST, [hub.configPath, keys.newPublicKey]),
    check(hub, 'check-new', keys.newPublicKey),
    check(hub, 'check-old', keys.oldPublicKey),
  ];
}

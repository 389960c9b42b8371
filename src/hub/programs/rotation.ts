/**
 * The hub steps of a key rotation (see workers/rotate.ts), as constant sh programs with positional
 * arguments only, like workers/hub-steps.ts. Config file edits are atomic (copy, change, fsync,
 * rename, mode 600) and idempotent, so a crashed rotation can run any step again.
 */
import type { HubConfig } from '../../config/schema.js';
import { formatPeerMetaLine, type PeerMeta } from '../../wg/peer-meta.js';
import type { Step } from '../ssh/remote-script.js';
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
 * Waits on the hub for the staged key ($3) to handshake, polling its latest handshake locally
 * every $6 seconds for at most $5 whole seconds, then moves the addresses ($4, comma-separated)
 * from the old key ($2) to the new one in ONE `wg set` on interface $1. Prints one word:
 * `moved` (now or earlier), `waiting` (no handshake yet), `missing` (the staged key is not on the
 * interface) or `old-missing` (the old key is gone, e.g. revoked: nothing is moved).
 */
export const WATCH_AND_MOVE_SH = `set -eu
iface=$1; old=$2; new=$3; ips=$4
ips_of() { wg show "$iface" allowed-ips | awk -v k="$1" '$1 == k { $1 = ""; sub(/^ /, ""); print "[" $0 "]"; exit }'; }
holds_all() {
  have=$(ips_of "$new" | tr ' ' ',')
  for ip in $(echo "$ips" | tr ',' ' '); do
    case ",$(echo "$have" | tr -d '[]')," in *",$ip,"*) ;; *) return 1 ;; esac
  done
}
if holds_all; then echo moved; exit 0; fi
if [ -z "$(ips_of "$old")" ]; then echo old-missing; exit 0; fi
end=$(( $(date +%s) + $5 ))
while :; do
  hs=$(wg show "$iface" latest-handshakes | awk -v k="$new" '$1 == k { print $2; exit }')
  if [ -z "$hs" ]; then echo missing; exit 0; fi
  if [ "$hs" != 0 ]; then break; fi
  if [ "$(date +%s)" -ge "$end" ]; then echo waiting; exit 0; fi
  sleep "$6"
done
wg set "$iface" peer "$old" allowed-ips "" peer "$new" allowed-ips "$ips"
echo moved`;

/**
 * Replaces the [Peer] sections of $2 (old key) and $3 (new key) in config file $1 with stdin (the
 * new key's final section): removing both and appending makes a rerun give the same bytes.
 */
export const COMMIT_ROTATION_SH = `set -eu
conf=$1
umask 077
tmp="$conf.tunnelgate.tmp"
awk -v keys="$2 $3" ${DROP_PEERS_AWK} "$conf" > "$tmp"
cat >> "$tmp"
sync "$tmp"
mv -f "$tmp" "$conf"
sync "$(dirname "$conf")"
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
export const WATCH = hubProgram('tunnelgate-watch', WATCH_AND_MOVE_SH, { interfaceFirst: true });
export const COMMIT = hubProgram('tunnelgate-commit', COMMIT_ROTATION_SH, { inputLine: PEER_SECTION_LINE });

function check(hub: HubConfig, name: string, publicKey: string): Step {
  return programStep(name, CHECK, [hub.interface, publicKey, hub.configPath]);
}

/** Adds the new key to the interface without AllowedIPs and its staged section to the file. */
export function stageSteps(hub: HubConfig, newPublicKey: string, section: string): Step[] {
  return [
    wgStageStep('wg-stage', hub, newPublicKey),
    programStep('persist', PERSIST, [hub.configPath, newPublicKey], { input: section }),
    check(hub, 'check-new', newPublicKey),
  ];
}

/** Waits up to `sliceSec` for the new key's handshake and moves the addresses when it comes. */
export function watchSteps(
  hub: HubConfig,
  keys: { oldPublicKey: string; newPublicKey: string },
  allowedIps: readonly string[],
  sliceSec: number,
  pollSec: number,
): Step[] {
  return [
    programStep('watch', WATCH, [
      hub.interface,
      keys.oldPublicKey,
      keys.newPublicKey,
      allowedIps.join(','),
      String(Math.max(1, Math.floor(sliceSec))),
      String(pollSec),
    ]),
  ];
}

/** Prunes the old key and writes the new key's final section, then reports both keys. */
export function commitSteps(
  hub: HubConfig,
  keys: { oldPublicKey: string; newPublicKey: string },
  section: string,
): Step[] {
  return [
    wgRemoveStep('wg-prune', hub, keys.oldPublicKey),
    programStep('persist', COMMIT, [hub.configPath, keys.oldPublicKey, keys.newPublicKey], {
      input: section,
    }),
    check(hub, 'check-new', keys.newPublicKey),
    check(hub, 'check-old', keys.oldPublicKey),
  ];
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

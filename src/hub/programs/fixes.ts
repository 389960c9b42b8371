/**
 * The programs behind `/vpn fix`: each mechanical fix as a constant sh program with positional
 * arguments only, and the steps that apply one stored finding's action.
 */
import type { HubConfig } from '../../config/schema.js';
import { TunnelgateError } from '../../core/errors.js';
import { FORWARD_DROP_IN } from '../../domain/hub-paths.js';
import type { FixAction } from '../../domain/models/diagnosis.js';
import type { Step } from '../ssh/remote-script.js';
import { hubProgram, programStep } from './registry.js';

/** Adds `oifname $1 ip saddr $2 masquerade` to ip nat postrouting, creating table and chain if missing. */
export const ADD_MASQUERADE_SH = `set -eu
nft list table ip nat >/dev/null 2>&1 || nft add table ip nat
nft list chain ip nat postrouting >/dev/null 2>&1 || nft add chain ip nat postrouting '{ type nat hook postrouting priority srcnat; policy accept; }'
nft add rule ip nat postrouting oifname "$1" ip saddr "$2" masquerade
echo added`;
export const MASQUERADE = hubProgram('tunnelgate-masquerade', ADD_MASQUERADE_SH, { arity: 2 });

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
export const FORWARDING = hubProgram('tunnelgate-forwarding', ENABLE_FORWARDING_SH, { arity: 0 });

/** `chmod 600` the regular files given (a symlink or anything else is refused, nothing changed). */
export const CHMOD_PRIVATE_SH = `set -eu
for f in "$@"; do
  if [ -L "$f" ] || [ ! -f "$f" ]; then echo "tunnelgate: not a regular file: $f" >&2; exit 64; fi
done
exec chmod 600 -- "$@"`;
export const CHMOD_PRIVATE = hubProgram('tunnelgate-chmod-private', CHMOD_PRIVATE_SH, {
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
        throw new TunnelgateError('INPUT_INVALID', `refusing to chmod outside ${dir}: ${outside.join(', ')}`);
      }
      return [programStep('chmod', CHMOD_PRIVATE, action.paths)];
    }
    default: {
      const unreachable: never = action;
      throw new TunnelgateError('INTERNAL', `unknown fix ${JSON.stringify(unreachable)}`);
    }
  }
}

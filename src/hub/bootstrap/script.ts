/**
 * Applying a {@link BootstrapPlan}: constant sh programs (positional arguments only, file contents
 * on stdin as base64 through the remote script), batched into ONE exec by `runScript`'s builder.
 * Every step is idempotent: a second run leaves an unchanged hub unchanged, keeps wg0.conf (and its
 * peers) and the hub's private key, and only replaces files whose content differs.
 */

import { FORWARD_DROP_IN } from '../../domain/hub-paths.js';
import { PROGRAM_CWD } from '../programs/program-file.js';
import type { HubConnection } from '../ssh/hub-connection.js';
import { buildScript, readScriptOutput, type ScriptResults, type Step } from '../ssh/remote-script.js';
import { BOT_USER, type BootstrapPlan } from './bootstrap.js';

const PATH_LINE = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH';

/**
 * Checks the tools and root, and that this SSH session's source ($SSH_CLIENT, IPv4) lies in one of
 * the trusted sources given as arguments, so the new firewall cannot lock the operator out.
 */
export const PREFLIGHT_SH = `set -eu
${PATH_LINE}
missing=
for c in wg wg-quick nft sudo visudo useradd usermod getent sshd ss base64 cmp mktemp; do
  command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
done
[ -x /usr/bin/wg ] || missing="$missing /usr/bin/wg"
if [ -n "$missing" ]; then
  echo "missing on the hub:$missing (install wireguard-tools, nftables, sudo, openssh-server)" >&2
  exit 69
fi
[ "$(id -u)" -eq 0 ] || { echo 'the bootstrap must run as root' >&2; exit 77; }
client=\${SSH_CLIENT:-}
client=\${client%% *}
if [ -n "$client" ] && ! printf '%s\\n' "$@" | awk -v ip="$client" '
  function num(a, p) { split(a, p, "."); return ((p[1] * 256 + p[2]) * 256 + p[3]) * 256 + p[4] }
  BEGIN { if (index(ip, ":")) unchecked = 1 }
  {
    n = split($0, c, "/"); bits = n > 1 ? c[2] : 32
    if (c[1] ~ /:/) next
    span = 2 ^ (32 - bits)
    if (int(num(c[1]) / span) == int(num(ip) / span)) ok = 1
  }
  END { exit (ok || unchecked) ? 0 : 1 }'; then
  echo "this SSH session comes from $client, outside every --ssh-from source: the firewall would lock it out" >&2
  exit 65
fi
echo ok`;

/** Creates user $1 (unless it exists) as a key-only account; stdin becomes its authorized_keys. */
export const USER_SH = `set -eu
${PATH_LINE}
user=$1
if id -u "$user" >/dev/null 2>&1; then echo "user $user exists"; else
  useradd --system --create-home --shell /bin/sh "$user"
  echo "created user $user"
fi
# '*': no password, but not locked ('!'), which sshd without PAM refuses even for keys.
usermod -p '*' "$user"
home=$(getent passwd "$user" | cut -d: -f6)
group=$(id -gn "$user")
install -d -m 700 -o "$user" -g "$group" "$home/.ssh"
tmp=$(mktemp "$home/.ssh/authorized_keys.XXXXXX")
cat > "$tmp"
chown "$user:$group" "$tmp"
chmod 600 "$tmp"
mv -f "$tmp" "$home/.ssh/authorized_keys"`;

/**
 * Installs stdin as root-owned file $1 with mode $2, atomically. $3 = keep: leave an existing file
 * alone. $4 = sudoers | nftables: check the new content first (visudo -cf, nft -c -f); sshd: check
 * the whole sshd config with it in place (sshd -t) and put the old file back if that fails.
 */
export const INSTALL_SH = `set -eu
${PATH_LINE}
path=$1 mode=$2 keep=$3 check=$4
if [ "$keep" = keep ] && [ -e "$path" ]; then echo "kept $path"; exit 0; fi
umask 022
mkdir -p "$(dirname "$path")"
umask 077
tmp=$(mktemp "$path.XXXXXX")
trap 'rm -f "$tmp" "$tmp.old"' EXIT
cat > "$tmp"
chown root:root "$tmp"
chmod "$mode" "$tmp"
if [ -f "$path" ] && cmp -s "$tmp" "$path"; then echo "unchanged $path"; exit 0; fi
case $check in
sudoers) visudo -cqf "$tmp" ;;
nftables) nft -c -f "$tmp" ;;
esac
[ -f "$path" ] && cp -p "$path" "$tmp.old"
mv -f "$tmp" "$path"
if [ "$check" = sshd ] && ! sshd -t; then
  if [ -f "$tmp.old" ]; then mv -f "$tmp.old" "$path"; else rm -f "$path"; fi
  echo "sshd -t refused the new $path; the old one is back" >&2
  exit 1
fi
echo "installed $path"`;

/** Generates the hub's private key $1 on the hub (umask 077) unless it exists; prints the public key. */
export const KEY_SH = `set -eu
${PATH_LINE}
umask 077
mkdir -p "$(dirname "$1")"
if [ ! -s "$1" ]; then
  tmp=$(mktemp "$1.XXXXXX")
  wg genkey > "$tmp"
  mv -f "$tmp" "$1"
  echo "generated $1" >&2
fi
chmod 600 "$1"
wg pubkey < "$1"`;

/** Brings interface $1 up (systemd's wg-quick@ unit where systemd runs, else wg-quick) if it is down. */
export const WG_UP_SH = `set -eu
${PATH_LINE}
systemd=no
[ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1 && systemd=yes
[ "$systemd" = no ] || systemctl enable "wg-quick@$1" >/dev/null 2>&1
if wg show "$1" >/dev/null 2>&1; then echo "$1 is up"
elif [ "$systemd" = yes ]; then systemctl start "wg-quick@$1"; echo "started wg-quick@$1"
else wg-quick up "$1"; echo "wg-quick up $1"; fi`;

/** Loads /etc/nftables.conf and enables it at boot where systemd runs. */
export const FIREWALL_SH = `set -eu
${PATH_LINE}
nft -f /etc/nftables.conf
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then systemctl enable nftables >/dev/null 2>&1; fi
echo loaded`;

/** Checks and reloads sshd (systemd, else the pid file); warns when sshd_config.d is not included. */
export const SSHD_RELOAD_SH = `set -eu
${PATH_LINE}
sshd -t
grep -Eiq '^[[:space:]]*Include[[:space:]]+/etc/ssh/sshd_config\\.d/' /etc/ssh/sshd_config ||
  echo 'warning: /etc/ssh/sshd_config does not Include sshd_config.d/*.conf; add it' >&2
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl reload ssh 2>/dev/null || systemctl reload sshd
elif [ -s /run/sshd.pid ]; then kill -HUP "$(cat /run/sshd.pid)"
else echo 'warning: cannot find sshd to reload; reload it by hand' >&2; fi
echo reloaded`;

/** The guide's Tasks 6 and 8: WireGuard listens on UDP $1; prints every listener for the operator. */
export const VERIFY_SH = `set -eu
${PATH_LINE}
ss -Hlnu "sport = :$1" | grep -q . || { echo "nothing listens on UDP $1" >&2; exit 1; }
ss -Hlntu`;

function sh(name: string, program: string, args: readonly string[], input?: string): Step {
  return {
    name,
    argv: ['sh', '-c', program, `tunnelgate-bootstrap-${name}`, ...args],
    ...(input === undefined ? {} : { input }),
  };
}

/** The steps of one bootstrap, in order; `sshFrom` feeds the lock-out check. */
export function bootstrapSteps(plan: BootstrapPlan, sshFrom: readonly string[]): Step[] {
  const steps: Step[] = [
    sh('preflight', PREFLIGHT_SH, sshFrom),
    sh('user', USER_SH, [BOT_USER], `${plan.authorizedKey}\n`),
    { name: 'program-cwd', argv: ['install', '-d', '-m', '0555', '-o', 'root', '-g', 'root', PROGRAM_CWD] },
    { name: 'key', argv: ['sh', '-c', KEY_SH, 'tunnelgate-bootstrap-key', plan.keyPath] },
  ];
  plan.files.forEach((file, i) => {
    steps.push(
      sh(
        `file-${i}`,
        INSTALL_SH,
        [file.path, file.mode, file.keepExisting ? 'keep' : 'replace', file.check],
        file.content,
      ),
    );
  });
  if (plan.routing) {
    steps.push({ name: 'sysctl', argv: ['sysctl', '-p', FORWARD_DROP_IN] });
  }
  steps.push(
    sh('wg-up', WG_UP_SH, [plan.interface]),
    sh('firewall', FIREWALL_SH, []),
    sh('sshd', SSHD_RELOAD_SH, []),
    sh('verify', VERIFY_SH, [String(plan.listenPort)]),
  );
  return steps;
}

/** What a finished bootstrap reports. */
export interface BootstrapOutcome {
  /** The hub's WireGuard public key (its private key stayed on the hub). */
  publicKey: string;
  /** One line per file: installed, unchanged or kept. */
  files: string[];
  /** `ss -lntu` after the run: what listens on the hub. */
  listeners: string;
}

/** Reads the per-step outputs of a finished bootstrap. */
export function readOutcome(plan: BootstrapPlan, results: ScriptResults): BootstrapOutcome {
  return {
    publicKey: results.key?.stdout.trim() ?? '',
    files: plan.files.map((_, i) => results[`file-${i}`]?.stdout.trim() ?? ''),
    listeners: results.verify?.stdout ?? '',
  };
}

/**
 * Runs the plan on the hub in ONE exec. As root directly; as another user (an admin with full
 * sudo) the whole script runs under `sudo -n` — the least-privilege sudoers entry is not enough
 * for this. Throws HUB_COMMAND_FAILED naming the failing step, or the connection's SSH_* errors.
 */
export async function applyBootstrap(
  conn: HubConnection,
  plan: BootstrapPlan,
  sshFrom: readonly string[],
): Promise<BootstrapOutcome> {
  const script = buildScript(bootstrapSteps(plan, sshFrom));
  const output = await conn.exec(['sh', '-s'], {
    input: script.text,
    sudo: conn.hub.user !== 'root',
    timeoutMs: 120_000,
  });
  return readOutcome(plan, readScriptOutput(script, output, conn.hub.name));
}

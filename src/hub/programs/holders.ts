/**
 * The hub is the authority for what is taken. Every program that gives AllowedIPs to a peer
 * (`tunnelgate-wg-set`, the rotation's `tunnelgate-watch` and `tunnelgate-commit`) starts its
 * change with {@link HOLDERS_SH}: under a lock shared by Tunnelgate's programs on the hub, it
 * reads the live interface (`wg show <if> allowed-ips`) and the config file, and when any other
 * peer — managed or not, live or only in the file — holds an address or route overlapping one the
 * change would give, it prints who holds what and exits {@link HELD_EXIT} before anything changes.
 * So a stale Redis, a second bot or a person racing the bot can never make `wg set` move an
 * address away from another peer. IPv4 and IPv6 alike (addresses compared bit by bit in awk).
 */
import { TunnelgateError } from '../../core/errors.js';
import { ScriptFailedError } from '../ssh/remote-script.js';

/** The exit code of a program that refused because another peer holds an address it would give. */
export const HELD_EXIT = 65;

/** Prints `live|file <key> <cidr>` for every AllowedIPs entry of every [Peer] in the file on stdin. */
const FILE_IPS_AWK = `'
  function flush(  i) { if (key != "") for (i = 1; i <= n; i++) print "file", key, ips[i]; key = ""; n = 0 }
  { line = $0; sub(/#.*/, "", line); sub(/^[ \\t]+/, "", line); sub(/[ \\t\\r]+$/, "", line) }
  line ~ /^\\[/ { flush(); peer = tolower(line) == "[peer]"; next }
  peer && tolower(substr(line, 1, 9)) == "publickey" { v = line; sub(/^[^=]*=[ \\t]*/, "", v); key = v; next }
  peer && tolower(substr(line, 1, 10)) == "allowedips" {
    v = line; sub(/^[^=]*=/, "", v); m = split(v, parts, ",")
    for (j = 1; j <= m; j++) { p = parts[j]; gsub(/[ \\t]/, "", p); if (p != "") ips[++n] = p }
  }
  END { flush() }'`;

/**
 * Reads `<where> <key> <cidr>` lines; prints `held <cidr> <key> <where> <wanted>` for each one of
 * a peer not in \`mine\` (space-separated keys) that shares an address with one of \`want\`
 * (comma-separated). Blocks are compared as bit strings over the shorter prefix.
 */
const OVERLAP_AWK = `'
  function bin(v, width,   s, k) { s = ""; for (k = 0; k < width; k++) { s = (v % 2) s; v = int(v / 2) } return s }
  function grp(s,   v, k) {
    if (s !~ /^[0-9A-Fa-f]+$/ || length(s) > 4) return ""
    v = 0; for (k = 1; k <= length(s); k++) v = v * 16 + index("0123456789abcdef", tolower(substr(s, k, 1))) - 1
    return bin(v, 16)
  }
  function v6(a,   d, head, tail, hn, tn, h, t, i, g, out) {
    d = index(a, "::")
    if (d) { head = substr(a, 1, d - 1); tail = substr(a, d + 2) } else { head = a; tail = "" }
    hn = head == "" ? 0 : split(head, h, ":"); tn = tail == "" ? 0 : split(tail, t, ":")
    if ((d == 0 && hn != 8) || (d && hn + tn > 7)) return ""
    out = ""
    for (i = 1; i <= hn; i++) { g = grp(h[i]); if (g == "") return ""; out = out g }
    for (i = hn + tn; i < 8; i++) out = out "0000000000000000"
    for (i = 1; i <= tn; i++) { g = grp(t[i]); if (g == "") return ""; out = out g }
    return out
  }
  function v4(a,   p, i, out) {
    if (split(a, p, ".") != 4) return ""
    out = ""; for (i = 1; i <= 4; i++) { if (p[i] !~ /^[0-9]+$/ || p[i] + 0 > 255) return ""; out = out bin(p[i] + 0, 8) }
    return out
  }
  function cidr(c,   n, parts, b, max) {
    n = split(c, parts, "/")
    if (index(parts[1], ":")) { b = v6(parts[1]); max = 128 } else { b = v4(parts[1]); max = 32 }
    plen = n > 1 ? parts[2] + 0 : max
    if (b == "" || n > 2 || (n == 2 && parts[2] !~ /^[0-9]+$/) || plen > max) return ""
    return (max == 32 ? "4" : "6") b
  }
  BEGIN {
    nw = split(want, w, ","); for (i = 1; i <= nw; i++) { wb[i] = cidr(w[i]); wl[i] = plen }
    nm = split(mine, m, " "); for (i = 1; i <= nm; i++) skip[m[i]] = 1
  }
  !($2 in skip) {
    hb = cidr($3); hl = plen
    if (hb == "") next
    for (i = 1; i <= nw; i++) {
      if (wb[i] == "" || substr(wb[i], 1, 1) != substr(hb, 1, 1)) continue
      l = wl[i] < hl ? wl[i] : hl
      if (substr(wb[i], 2, l) == substr(hb, 2, l)) print "held", $3, $2, $1, w[i]
    }
  }'`;

/**
 * sh functions for the programs that give AllowedIPs. `tg_section_ips TEXT` prints the AllowedIPs
 * of a [Peer] section, comma-separated without spaces; `tg_lock CONF` takes the lock every such
 * program holds (flock on the config file's directory: no file is created); `tg_free IFACE CONF
 * WANTED KEY…` prints `held <cidr> <key> <live|file> <wanted>` lines and exits {@link HELD_EXIT}
 * when a peer other than the KEYs holds an address of WANTED (comma-separated), live or in CONF.
 */
export const HOLDERS_SH = `tg_section_ips() {
  printf '%s\\n' "$1" | awk '
    { line = $0; sub(/^[ \\t]+/, "", line) }
    tolower(substr(line, 1, 10)) == "allowedips" {
      v = line; sub(/^[^=]*=/, "", v); gsub(/[ \\t\\r]/, "", v)
      if (v != "") out = out (out == "" ? "" : ",") v
    }
    END { print out }'
}
tg_lock() {
  exec 9<"$(dirname "$1")"
  if command -v flock >/dev/null 2>&1; then flock 9; fi
}
tg_free() {
  tg_f_if=$1; tg_f_conf=$2; tg_f_want=$3; shift 3
  tg_f_held=$({
    wg show "$tg_f_if" allowed-ips | awk '{ for (i = 2; i <= NF; i++) if ($i != "(none)") print "live", $1, $i }'
    awk ${FILE_IPS_AWK} "$tg_f_conf"
  } | awk -v want="$tg_f_want" -v mine="$*" ${OVERLAP_AWK})
  [ -n "$tg_f_held" ] || return 0
  printf '%s\\n' "$tg_f_held"
  printf '%s\\n' "$tg_f_held" | awk '{ print "tunnelgate: refused: " $5 " overlaps " $2 ", held by peer " $3 " (" $4 ")" }' >&2
  exit ${HELD_EXIT}
}`;

/** One address or route another peer holds on the hub, as {@link HOLDERS_SH} reported it. */
export interface Held {
  /** The holder's entry, as the hub wrote it (e.g. `10.6.0.2/32`, `192.168.50.0/24`). */
  cidr: string;
  /** The holder's public key. */
  holder: string;
  /** Where the hub shows it: on the live interface, in the config file. */
  where: 'live' | 'file';
  /** The address or route of the change it overlaps. */
  wanted: string;
}

/** Parses the `held …` lines of a refused program. */
export function parseHeld(stdout: string): Held[] {
  const held: Held[] = [];
  for (const line of stdout.split('\n')) {
    const [tag, cidr, holder, where, wanted] = line.trim().split(/\s+/);
    if (tag !== 'held' || cidr === undefined || holder === undefined || wanted === undefined) continue;
    if (where !== 'live' && where !== 'file') continue;
    held.push({ cidr, holder, where, wanted });
  }
  return held;
}

/**
 * What the hub held when a script failed because a program refused with {@link HELD_EXIT}; null
 * for any other failure.
 */
export function heldFrom(error: unknown): Held[] | null {
  if (!(error instanceof ScriptFailedError) || error.exitCode !== HELD_EXIT) return null;
  const failed = error.steps.find((s) => s.status === 'failed');
  if (failed === undefined || failed.status !== 'failed') return null;
  const held = parseHeld(failed.stdout);
  return held.length > 0 ? held : null;
}

/** `10.6.0.2/32 (held by peer abcd1234… live and in the file)`, one per holder entry. */
export function describeHeld(held: readonly Held[]): string {
  const byEntry = new Map<string, { holder: string; cidr: string; where: Set<string> }>();
  for (const h of held) {
    const key = `${h.holder} ${h.cidr}`;
    const entry = byEntry.get(key) ?? { holder: h.holder, cidr: h.cidr, where: new Set<string>() };
    entry.where.add(h.where === 'live' ? 'live' : 'in the config file');
    byEntry.set(key, entry);
  }
  return [...byEntry.values()]
    .map((e) => `${e.cidr} is held by peer ${e.holder.slice(0, 8)}… (${[...e.where].join(' and ')})`)
    .join('; ');
}

/** CONFLICT naming the holders, for a change that may not pick another address. */
export function heldConflict(hub: string, what: string, held: readonly Held[]): TunnelgateError {
  return new TunnelgateError('CONFLICT', `${what} on hub ${hub}: ${describeHeld(held)}`, {
    hub,
    hint: 'Tunnelgate never takes an address or route another peer holds: remove that peer from the hub, or put it under management, first',
  });
}

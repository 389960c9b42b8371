/**
 * The installed form of a hub program on a least-privilege hub: `#!/bin/sh`, the hub's pinned
 * values, the argument guard, then the program. The bootstrap writes these files; the audit
 * renders them again to tell whether a hub's installed programs are this Tunnelgate's.
 */
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import type { HubConfig } from '../../config/schema.js';
import type { HubProgram } from './registry.js';

/** An empty root-owned directory the installed programs run in, so relative paths name nothing. */
export const PROGRAM_CWD = '/var/lib/tunnelgate/empty';

const KEY = '[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=';
const ADDRESSES = '[0-9A-Fa-f][0-9A-Fa-f.:,/]*';
const WORD = '[A-Za-z0-9_][A-Za-z0-9_.:,=+@-]*';

/**
 * The guard every installed program starts with. It runs as root for an unprivileged caller, so
 * before the program sees them: the number of arguments must be the program's `arity` when it
 * declares one; no argument may be empty; the config file argument (for a program
 * with `configArg`) must be the hub's pinned config path; each argument must be the hub's
 * interface, its config file, (for a program with `configDirArgs`) the config file's directory or
 * a file directly in it that is no symlink, a WireGuard key, an address list that names no
 * existing path, or a plain word; for a program with `interfaceFirst`, the first one must be the
 * hub's interface. Stdin is closed unless the program declares what it reads, and then it must be
 * one [Peer] section: no NUL byte, every line matching, the first non-blank line `[Peer]` and no
 * other. It then runs in an empty root-owned directory.
 */
const GUARD = `tg_refuse() { echo "tunnelgate: refused: $1" >&2; exit 64; }
cd ${PROGRAM_CWD} || tg_refuse 'no ${PROGRAM_CWD} (run tunnelgate hub bootstrap again)'
tg_nl='
'
if [ -n "$tg_interface_first" ] && [ "\${1-}" != "$tg_interface" ]; then
  tg_refuse "interface \${1-}: this hub's interface is $tg_interface"
fi
if [ -n "$tg_arity" ] && [ "$#" -ne "$tg_arity" ]; then tg_refuse "$# arguments: this program takes $tg_arity"; fi
if [ -n "$tg_config_at" ] && [ "$#" -lt "$tg_config_at" ]; then tg_refuse 'no config file argument'; fi
tg_at=0
for tg_arg in "$@"; do
  tg_at=$((tg_at + 1))
  [ -n "$tg_arg" ] || tg_refuse "argument $tg_at is empty"
  if [ "$tg_at" = "$tg_config_at" ] && [ "$tg_arg" != "$tg_config" ]; then
    tg_refuse "config file $tg_arg: this hub's config file is $tg_config"
  fi
  case $tg_arg in
  "$tg_interface" | "$tg_config") continue ;;
  *"$tg_nl"*) tg_refuse 'an argument with a line break' ;;
  "$tg_confdir") [ -n "$tg_dir_args" ] || tg_refuse "argument $tg_arg" ;;
  "$tg_confdir"/*)
    [ -n "$tg_dir_args" ] || tg_refuse "argument $tg_arg"
    case \${tg_arg#"$tg_confdir"/} in
    */* | . | .. | '') tg_refuse "argument $tg_arg" ;;
    esac
    [ ! -L "$tg_arg" ] || tg_refuse "argument $tg_arg is a symlink"
    ;;
  */*)
    printf '%s\\n' "$tg_arg" | grep -Eqx '${KEY}|${ADDRESSES}' || tg_refuse "argument $tg_arg"
    case $tg_arg in
    /*) tg_top=\${tg_arg#/}; tg_top=/\${tg_top%%/*} ;;
    *) tg_top=\${tg_arg%%/*} ;;
    esac
    if [ -e "$tg_top" ] || [ -L "$tg_top" ]; then tg_refuse "argument $tg_arg names a path"; fi
    ;;
  *) printf '%s\\n' "$tg_arg" | grep -Eqx '${KEY}|${WORD}' || tg_refuse "argument $tg_arg" ;;
  esac
done
if [ -n "$tg_input" ]; then
  tg_in=$(mktemp)
  cat > "$tg_in"
  tg_why=
  if [ "$(tr -d '\\000' < "$tg_in" | wc -c)" -ne "$(wc -c < "$tg_in")" ]; then tg_why='a NUL byte in the input'
  elif LC_ALL=C grep -Evxq -e "$tg_input" "$tg_in"; then tg_why='unexpected input'
  elif [ "$(sed -n '/./{p;q;}' "$tg_in")" != '[Peer]' ]; then tg_why='input that does not start with [Peer]'
  elif [ "$(grep -c '^\\[' "$tg_in")" -ne 1 ]; then tg_why='input with more than one section'
  fi
  if [ -n "$tg_why" ]; then rm -f "$tg_in"; tg_refuse "$tg_why"; fi
  exec < "$tg_in"
  rm -f "$tg_in"
else
  exec < /dev/null
fi
unset tg_arg tg_at tg_top tg_nl tg_in tg_why tg_dir_args tg_interface_first tg_config_at tg_arity`;

/** Single-quotes a value for sh. */
function shWord(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** The installed file of one program: `#!/bin/sh`, the pinned values, the guard, the program. */
export function renderProgramFile(program: HubProgram, hub: HubConfig): string {
  return [
    '#!/bin/sh',
    `# ${program.name}: a Tunnelgate hub program, installed by \`tunnelgate hub bootstrap\` for hub "${hub.name}".`,
    '# It runs as root through sudo; the guard below checks its arguments and input first.',
    `tg_interface=${shWord(hub.interface)}`,
    `tg_config=${shWord(hub.configPath)}`,
    `tg_confdir=${shWord(dirname(hub.configPath))}`,
    `tg_dir_args=${program.configDirArgs === true ? '1' : "''"}`,
    `tg_interface_first=${program.interfaceFirst === true ? '1' : "''"}`,
    `tg_config_at=${program.configArg === undefined ? "''" : String(program.configArg)}`,
    `tg_arity=${program.arity === undefined ? "''" : String(program.arity)}`,
    `tg_input=${shWord(program.inputLine ?? '')}`,
    GUARD,
    program.text,
    '',
  ].join('\n');
}

/** The SHA-256 (hex) of each program's installed file on `hub`, by name: what an audit expects. */
export function programFileDigests(hub: HubConfig, programs: readonly HubProgram[]): Map<string, string> {
  return new Map(
    programs.map((program) => [
      program.name,
      createHash('sha256').update(renderProgramFile(program, hub)).digest('hex'),
    ]),
  );
}

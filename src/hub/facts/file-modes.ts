/** File modes under the WireGuard config directory: keys and configs must be 600 or tighter. */
import { dirname } from 'node:path';
import { hubProgram, programStep } from '../programs/registry.js';
import type { Step } from '../ssh/remote-script.js';

/** `stat` of every entry in the directory $1 (the glob is the program's, the directory an argument). */
export const FILE_MODES_SH = `for f in "$1"/*; do [ -e "$f" ] && stat -c '%a %U %n' "$f"; done; true`;
export const MODES = hubProgram('tunnelgate-modes', FILE_MODES_SH, { arity: 1, configDirArgs: true });

/** Read-only step for the directory holding the hub's config file. */
export function fileModesStep(configPath: string): Step {
  return programStep('modes', MODES, [dirname(configPath)], { allowFail: true });
}

/** One file's mode. */
export interface FileMode {
  /** Octal permission bits as stat prints them, e.g. `600`. */
  mode: string;
  owner: string;
  path: string;
  line: string;
}

/** Parses `%a %U %n` lines. */
export function parseFileModes(stdout: string): FileMode[] {
  const files: FileMode[] = [];
  for (const raw of stdout.split('\n')) {
    const m = /^([0-7]{3,4}) (\S+) (\/.+)$/.exec(raw.trim());
    if (m?.[1] === undefined || m[2] === undefined || m[3] === undefined) continue;
    files.push({ mode: m[1], owner: m[2], path: m[3], line: m[0] });
  }
  return files;
}

/** True when group or others have any permission (broader than 600). */
export function tooOpen(file: FileMode): boolean {
  return (Number.parseInt(file.mode, 8) & 0o077) !== 0;
}

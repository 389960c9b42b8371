/**
 * Whether a least-privilege hub runs this Tunnelgate's programs: their SHA-256 digests are read
 * without root (the installed files are world-readable) and compared with the files this
 * Tunnelgate's bootstrap would install. A missing program fails every job that needs it; a changed
 * one (a hub bootstrapped by an older Tunnelgate, or an edited file) may lack a newer guard.
 */
import { HUB_PROGRAM_DIR } from '../../domain/hub-paths.js';
import type { Step, StepOutput } from '../ssh/remote-script.js';

/** Read-only step: `sha256sum` of the named programs' installed files. */
export function programDigestsStep(names: readonly string[]): Step {
  return {
    name: 'programs',
    argv: ['sha256sum', '--', ...names.map((name) => `${HUB_PROGRAM_DIR}/${name}`)],
    allowFail: true,
  };
}

/**
 * Program name -> hex digest from `sha256sum` output; a file it could not read is absent. Null
 * when the step did not run as sha256sum does (exit 0, or 1 for unreadable files).
 */
export function parseProgramDigests(result: StepOutput | undefined): Map<string, string> | null {
  if (result === undefined || (result.exitCode !== 0 && result.exitCode !== 1)) return null;
  const digests = new Map<string, string>();
  for (const line of result.stdout.split('\n')) {
    const m = /^([0-9a-f]{64}) [ *](\/\S+)$/.exec(line.trim());
    if (m?.[1] === undefined || m[2] === undefined) continue;
    const name = m[2].slice(m[2].lastIndexOf('/') + 1);
    if (`${HUB_PROGRAM_DIR}/${name}` === m[2]) digests.set(name, m[1]);
  }
  return digests;
}

/** The programs a hub lacks and those whose installed file differs from the expected one. */
export interface ProgramDrift {
  missing: string[];
  changed: string[];
}

/** Compares installed digests with the expected ones, by program name (sorted). */
export function programDrift(
  expected: ReadonlyMap<string, string>,
  installed: ReadonlyMap<string, string>,
): ProgramDrift {
  const names = [...expected.keys()].sort();
  return {
    missing: names.filter((name) => !installed.has(name)),
    changed: names.filter((name) => installed.has(name) && installed.get(name) !== expected.get(name)),
  };
}

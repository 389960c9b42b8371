/**
 * The owners file of `tunnelgate hub adopt HUB --owners FILE`: which hand-made peer belongs to
 * whom, the migration path from a wiki page of `wg set` commands or another tool. One peer a line,
 * `KEY-PREFIX OWNER DEVICE` separated by spaces or tabs; blank lines and `#` comments are skipped:
 *
 *     # office gateway, set up by hand in 2023
 *     Xy3k9QbN   alice   office-gw
 */
import { TunnelgateError } from '../core/errors.js';
import { AdoptEntry } from './models/command.js';

/**
 * Parses the file. Throws INPUT_INVALID naming every bad line (wrong field count, an invalid
 * prefix, owner or device), a prefix given twice and a peer name (`<owner>-<device>`) given twice.
 */
export function parseOwnersFile(text: string): AdoptEntry[] {
  const problems: string[] = [];
  const entries: AdoptEntry[] = [];
  const seen = new Map<string, number>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const at = `line ${i + 1}`;
    const fields = line.split(/[ \t]+/);
    if (fields.length !== 3) {
      problems.push(`${at}: expected KEY-PREFIX OWNER DEVICE, found ${fields.length} field(s)`);
      return;
    }
    const [keyPrefix, owner, device] = fields;
    const parsed = AdoptEntry.safeParse({ keyPrefix, owner, device });
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      problems.push(`${at}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
      return;
    }
    const entry = parsed.data;
    for (const [what, key] of [
      ['key prefix', `k:${entry.keyPrefix}`],
      ['peer name', `n:${`${entry.owner}-${entry.device}`.toLowerCase()}`],
    ] as const) {
      const earlier = seen.get(key);
      if (earlier !== undefined)
        problems.push(`${at}: the ${what} ${key.slice(2)} is also on line ${earlier}`);
      else seen.set(key, i + 1);
    }
    entries.push(entry);
  });
  if (problems.length > 0) {
    throw new TunnelgateError('INPUT_INVALID', `the owners file is invalid: ${problems.join('; ')}`, {
      hint: 'one peer a line: KEY-PREFIX OWNER DEVICE',
    });
  }
  if (entries.length === 0) {
    throw new TunnelgateError('INPUT_INVALID', 'the owners file names no peer', {
      hint: 'one peer a line: KEY-PREFIX OWNER DEVICE',
    });
  }
  return entries;
}

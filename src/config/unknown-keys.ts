/**
 * Unknown config keys, explained: the schema's objects are strict, and a refused key is named by
 * its path with the closest known key (`hubs[0].trustOnFirstuse: unknown key; did you mean
 * "trustOnFirstUse"?`), so a typo is not silently a default.
 */
import type { z } from 'zod';

/** The keys the object schema at `path` under `schema` accepts (empty when there is none). */
export function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let node: z.core.$ZodType | undefined = schema;
  let rest = [...path];
  for (;;) {
    const def = node._zod.def as unknown as { type: string } & Record<string, unknown>;
    if (def.type === 'default' || def.type === 'optional' || def.type === 'nullable') {
      node = def.innerType as z.core.$ZodType;
    } else if (def.type === 'pipe') {
      node = def.in as z.core.$ZodType;
    } else if (rest.length === 0) {
      return def.type === 'object' ? Object.keys(def.shape as object) : [];
    } else if (def.type === 'array' && typeof rest[0] === 'number') {
      node = def.element as z.core.$ZodType;
      rest = rest.slice(1);
    } else if (def.type === 'object' && typeof rest[0] === 'string') {
      node = (def.shape as Record<string, z.core.$ZodType>)[rest[0]];
      rest = rest.slice(1);
    } else {
      return [];
    }
    if (node === undefined) return [];
  }
}

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/** The known key `key` most likely meant (case-insensitive edit distance), or undefined. */
export function suggestKey(key: string, known: readonly string[]): string | undefined {
  let best: { key: string; d: number } | undefined;
  for (const candidate of known) {
    const d = distance(key.toLowerCase(), candidate.toLowerCase());
    if (best === undefined || d < best.d) best = { key: candidate, d };
  }
  return best !== undefined && best.d <= Math.max(2, Math.floor(best.key.length / 3)) ? best.key : undefined;
}

/** One line per unknown key of an `unrecognized_keys` issue, as `path.key: unknown key; …`. */
export function describeUnknownKeys(
  schema: z.ZodType,
  path: readonly PropertyKey[],
  keys: readonly string[],
  formatPath: (path: readonly PropertyKey[]) => string,
): string[] {
  const known = keysAt(schema, path);
  return keys.map((key) => {
    const guess = suggestKey(key, known);
    const help = guess !== undefined ? `did you mean "${guess}"?` : `expected one of: ${known.join(', ')}`;
    return `${formatPath([...path, key])}: unknown key; ${help}`;
  });
}

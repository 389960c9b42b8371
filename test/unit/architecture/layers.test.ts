/**
 * The plan of the house, checked from the imports of every module under src/: each top folder is
 * a layer, and a module may import only its own folder or a lower layer. Folders that share a rank
 * stand side by side and never import each other (bot use cases and workers), adapters reach
 * Redis only through the bot, and no module is part of an import cycle.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');
const src = join(root, 'src');

/** Bottom to top. Folders on one row are side by side. */
const LAYERS: readonly (readonly string[])[] = [
  ['core'],
  ['wg'],
  ['config'],
  ['domain'],
  ['store'],
  ['queue'],
  ['hub', 'oncall'],
  ['runbooks'],
  ['bot', 'workers', 'observability'],
  ['lab'],
  ['adapters'],
  ['cli'],
];
/** Imports no layer order forbids but the plan does: adapters talk to the bot, not to Redis. */
const FORBIDDEN: readonly [string, string][] = [['adapters', 'store']];

function rank(folder: string): number {
  return LAYERS.findIndex((row) => row.includes(folder));
}

function modules(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return modules(path);
    return name.endsWith('.ts') ? [relative(src, path)] : [];
  });
}

/** Module -> the src modules it imports (relative specifiers only; types included). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of modules(src)) {
    const text = readFileSync(join(src, file), 'utf8');
    const targets = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map(([, spec]) =>
      normalize(join(dirname(file), (spec ?? '').replace(/\.js$/, '.ts'))),
    );
    graph.set(file, targets);
  }
  return graph;
}

const top = (file: string) => file.split('/')[0] ?? '';

describe('the layers of src/', () => {
  const graph = importGraph();

  it('puts every top folder of src/ on a layer', () => {
    const folders = readdirSync(src).filter((name) => statSync(join(src, name)).isDirectory());
    expect(folders.filter((folder) => rank(folder) < 0)).toEqual([]);
  });

  it('has no import from a lower layer to a higher one, nor between folders side by side', () => {
    const wrong: string[] = [];
    for (const [file, targets] of graph) {
      for (const target of targets) {
        const [from, to] = [top(file), top(target)];
        if (from !== to && rank(to) >= rank(from)) wrong.push(`${file} -> ${target}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('keeps adapters away from the stores', () => {
    const wrong = [...graph].flatMap(([file, targets]) =>
      targets
        .filter((target) => FORBIDDEN.some(([from, to]) => top(file) === from && top(target) === to))
        .map((target) => `${file} -> ${target}`),
    );
    expect(wrong).toEqual([]);
  });

  it('has no import cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const path: string[] = [];
    const visit = (file: string) => {
      state.set(file, 'open');
      path.push(file);
      for (const target of graph.get(file) ?? []) {
        if (state.get(target) === 'open')
          cycles.push([...path.slice(path.indexOf(target)), target].join(' -> '));
        else if (!state.has(target) && graph.has(target)) visit(target);
      }
      path.pop();
      state.set(file, 'done');
    };
    for (const file of graph.keys()) if (!state.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });
});

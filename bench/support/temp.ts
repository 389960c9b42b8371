/** Temporary directories that are removed when the bench process exits, however it exits. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dirs = new Set<string>();
let hookInstalled = false;

/** Creates `/tmp/<prefix>XXXXXX`; `remove` (or process exit) deletes it. */
export function tempDir(prefix: string): { path: string; remove(): void } {
  if (!hookInstalled) {
    hookInstalled = true;
    process.on('exit', () => {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });
  }
  const path = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(path);
  return {
    path,
    remove() {
      rmSync(path, { recursive: true, force: true });
      dirs.delete(path);
    },
  };
}

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unreadableFiles } from '../../../src/observability/health.js';

describe('unreadableFiles (the key files behind /healthz)', () => {
  it('names each required file the process cannot read, with the reason, and passes readable ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-health-'));
    const key = join(dir, 'tunnelgate_ed25519');
    writeFileSync(key, 'key\n', { mode: 0o600 });
    const missing = join(dir, 'known_hosts');
    expect(await unreadableFiles([key, missing])).toEqual([`${missing}: ENOENT (cannot read it)`]);
    expect(await unreadableFiles([key])).toEqual([]);
  });
});

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SET_EXPIRES_SH } from '../../../../src/hub/programs/expiry.js';
import { setExpiryJobId } from '../../../../src/queue/job-ids.js';
import { listPeers, parseWgConf } from '../../../../src/wg/conf.js';

const fixture = readFileSync(new URL('../../../fixtures/wg/hub-with-meta.conf', import.meta.url), 'utf8');
const peers = listPeers(parseWgConf(fixture));
const dirs: string[] = [];

function confFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tg-set-expiry-'));
  dirs.push(dir);
  const path = join(dir, 'wg0.conf');
  writeFileSync(path, fixture, { mode: 0o600 });
  return path;
}

/** Runs the program as the remote script does: sh -c PROGRAM NAME ARGS… */
function setExpires(path: string, key: string, value: string) {
  const run = spawnSync('sh', ['-c', SET_EXPIRES_SH, 'tunnelgate-set-expires', path, key, value], {
    encoding: 'utf8',
  });
  return { code: run.status, out: run.stdout.trim(), err: run.stderr };
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('the set-expires hub program', () => {
  const target = peers.find((p) => p.meta !== undefined && p.meta !== null);

  it('rewrites only the expiry in that peer’s metadata comment, and a rerun changes nothing', () => {
    if (target === undefined) throw new Error('the fixture needs a peer with metadata');
    const path = confFile();
    expect(setExpires(path, target.publicKey, '2026-12-01T10:00:00.000Z')).toMatchObject({
      code: 0,
      out: 'updated',
    });
    const after = readFileSync(path, 'utf8');
    const changed = listPeers(parseWgConf(after));
    expect(changed.find((p) => p.publicKey === target.publicKey)?.meta).toEqual({
      ...target.meta,
      expires: '2026-12-01T10:00:00.000Z',
    });
    const untouched = (list: typeof peers) => list.filter((p) => p.publicKey !== target.publicKey);
    expect(untouched(changed)).toEqual(untouched(peers));
    expect(after.split('\n').length).toBe(fixture.split('\n').length);

    expect(setExpires(path, target.publicKey, '2026-12-01T10:00:00.000Z').out).toBe('unchanged');
    // The fixture's peer had no expiry: setting it back restores the file byte for byte.
    expect(target.meta?.expires).toBeNull();
    expect(setExpires(path, target.publicKey, 'null').out).toBe('updated');
    expect(readFileSync(path, 'utf8')).toBe(fixture);
  });

  it('says absent for a peer not in the file and leaves the file alone', () => {
    const path = confFile();
    const other = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';
    expect(setExpires(path, other, '2026-12-01T10:00:00.000Z')).toMatchObject({ code: 0, out: 'absent' });
    expect(readFileSync(path, 'utf8')).toBe(fixture);
  });

  it('refuses a value that is not an ISO time or null, changing nothing', () => {
    if (target === undefined) throw new Error('the fixture needs a peer with metadata');
    const path = confFile();
    const bad = setExpires(path, target.publicKey, 'tomorrow","mode":"full');
    expect(bad.code).toBe(64);
    expect(bad.err).toContain('not an expiry');
    expect(readFileSync(path, 'utf8')).toBe(fixture);
  });

  it('keys its job by request and expiry, so a retried approval queues it once', () => {
    expect(setExpiryJobId('r-abc', '2026-12-01T10:00:00.000Z')).toBe('set-expiry-r-abc-1796119200000');
  });
});

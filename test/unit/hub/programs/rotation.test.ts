import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  COMMIT_ROTATION_SH,
  committedSection,
  stagedSection,
} from '../../../../src/hub/programs/rotation.js';
import { listPeers, parseWgConf, renderPeerSection } from '../../../../src/wg/conf.js';
import { generateKeyPair } from '../../../../src/wg/keys.js';
import type { PeerMeta } from '../../../../src/wg/peer-meta.js';

const oldKey = generateKeyPair().publicKey;
const newKey = generateKeyPair().publicKey;
const otherKey = generateKeyPair().publicKey;
const meta = (extra: Partial<PeerMeta> = {}): PeerMeta =>
  ({
    peer: 'bob-laptop',
    owner: 'bob',
    device: 'laptop',
    request: 'r-abcdef',
    created: '2025-05-01T09:00:00.000Z',
    expires: null,
    mode: 'split',
    ...extra,
  }) as PeerMeta;
const base = '[Interface]\nPrivateKey = (elided)\nAddress = 10.6.0.1/24\nListenPort = 51820\n';
const withPeers =
  base +
  renderPeerSection({
    publicKey: otherKey,
    allowedIps: ['10.6.0.3/32'],
    meta: meta({ peer: 'dave-desk' } as Partial<PeerMeta>),
  }) +
  renderPeerSection({ publicKey: oldKey, allowedIps: ['10.6.0.2/32'], meta: meta() });

let dir = '';
afterEach(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs COMMIT_ROTATION_SH on a copy of `conf`, with a recorder `wg` first on PATH that appends
 * its argv (one line) to `wg.log` beside the file and, when asked for `show`, prints nothing.
 */
function commit(conf: string, section: string): string {
  dir = mkdtempSync(join(tmpdir(), 'tg-rotate-'));
  const path = join(dir, 'wg0.conf');
  writeFileSync(path, conf);
  writeFileSync(join(dir, 'wg'), `#!/bin/sh\necho "$*" >> '${dir}/wg.log'\n`, { mode: 0o755 });
  execFileSync(
    'sh',
    ['-c', COMMIT_ROTATION_SH, 'tunnelgate-commit', 'wg0', path, oldKey, newKey, '10.6.0.2/32'],
    { input: section, env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` } },
  );
  return readFileSync(path, 'utf8');
}

function wgCalls(): string[] {
  // `wg show` calls are the holder check's reads (holders.ts); only the changes count here.
  return readFileSync(join(dir, 'wg.log'), 'utf8')
    .trim()
    .split('\n')
    .filter((call) => !call.startsWith('show '));
}

describe('rotation sections', () => {
  it('stages the new key with its rotatedFrom meta and no AllowedIPs', () => {
    const conf = parseWgConf(withPeers + stagedSection(newKey, meta({ rotatedFrom: oldKey })));
    const staged = listPeers(conf).find((p) => p.publicKey === newKey);
    expect(staged?.allowedIps).toEqual([]);
    expect(staged?.meta?.rotatedFrom).toBe(oldKey);
  });

  it('commit replaces the old and the staged section with the final one, and a rerun changes nothing', () => {
    const final = committedSection(newKey, ['10.6.0.2/32'], meta({ rotatedFrom: oldKey }));
    const once = commit(withPeers + stagedSection(newKey, meta({ rotatedFrom: oldKey })), final);
    const peers = listPeers(parseWgConf(once));
    expect(peers.map((p) => p.publicKey)).toEqual([otherKey, newKey]);
    expect(peers[1]?.allowedIps).toEqual(['10.6.0.2/32']);
    expect(once.startsWith(base)).toBe(true);
    expect(commit(once, final)).toBe(once);
  });

  it('commit removes the old key live and gives the new one the address in one wg set, after the file', () => {
    const final = committedSection(newKey, ['10.6.0.2/32'], meta({ rotatedFrom: oldKey }));
    commit(withPeers + stagedSection(newKey, meta({ rotatedFrom: oldKey })), final);
    expect(wgCalls()).toEqual([`set wg0 peer ${oldKey} remove peer ${newKey} allowed-ips 10.6.0.2/32`]);
  });

  it('commit leaves the file untouched when the section cannot be written', () => {
    const staged = withPeers + stagedSection(newKey, meta({ rotatedFrom: oldKey }));
    dir = mkdtempSync(join(tmpdir(), 'tg-rotate-'));
    const path = join(dir, 'wg0.conf');
    writeFileSync(path, staged);
    // The temp file's place is taken by a directory: the copy fails before anything is renamed.
    execFileSync('mkdir', [`${path}.tunnelgate.tmp`]);
    expect(() =>
      execFileSync(
        'sh',
        ['-c', COMMIT_ROTATION_SH, 'tunnelgate-commit', 'wg0', path, oldKey, newKey, '10.6.0.2/32'],
        { input: committedSection(newKey, ['10.6.0.2/32'], meta()), stdio: 'pipe' },
      ),
    ).toThrow();
    expect(readFileSync(path, 'utf8')).toBe(staged);
  });

  it('the final section is byte for byte what provisioning writes for the same peer', () => {
    const m = meta({ rotatedFrom: oldKey });
    expect(committedSection(newKey, ['10.6.0.2/32'], m)).toBe(
      renderPeerSection({ publicKey: newKey, allowedIps: ['10.6.0.2/32'], meta: m }),
    );
  });
});

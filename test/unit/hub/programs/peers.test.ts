import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { APPEND_PEER_SH, parsePeerCheck, REMOVE_PEER_SH } from '../../../../src/hub/programs/peers.js';
import { listPeers, parseWgConf, renderPeerSection } from '../../../../src/wg/conf.js';
import { generateKeyPair } from '../../../../src/wg/keys.js';

const fixture = readFileSync(new URL('../../../fixtures/wg/hub-with-meta.conf', import.meta.url), 'utf8');
const dirs: string[] = [];

function confFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tg-steps-'));
  dirs.push(dir);
  const path = join(dir, 'wg0.conf');
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

/** Runs a hub program exactly as the remote script does: sh -c PROGRAM NAME ARGS…, input on stdin. */
function runProgram(program: string, args: string[], input = ''): string {
  return execFileSync('sh', ['-c', program, 'test', ...args], { input, encoding: 'utf8' }).trim();
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('hub config file programs', () => {
  const key = generateKeyPair().publicKey;
  const section = renderPeerSection({
    publicKey: key,
    allowedIps: ['10.66.1.9/32'],
    meta: {
      peer: 'bob-laptop',
      owner: 'bob',
      device: 'laptop',
      request: 'r-abcdef',
      created: '2026-11-24T15:00:00.000Z',
      expires: null,
      mode: 'split',
    },
  });

  it('appends a peer section that the config parser reads back with its metadata, mode 600', () => {
    const path = confFile(fixture);
    expect(runProgram(APPEND_PEER_SH, ['wg0', path, key], section)).toBe('appended');
    const peer = listPeers(parseWgConf(readFileSync(path, 'utf8'))).find((p) => p.publicKey === key);
    expect(peer?.allowedIps).toEqual(['10.66.1.9/32']);
    expect(peer?.meta?.peer).toBe('bob-laptop');
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('does not append a peer twice (a retried job)', () => {
    const path = confFile(fixture);
    runProgram(APPEND_PEER_SH, ['wg0', path, key], section);
    expect(runProgram(APPEND_PEER_SH, ['wg0', path, key], section)).toBe('present');
    expect(readFileSync(path, 'utf8').split(key).length - 1).toBe(1);
  });

  it('removing an appended peer restores the file byte for byte', () => {
    const path = confFile(fixture);
    runProgram(APPEND_PEER_SH, ['wg0', path, key], section);
    expect(runProgram(REMOVE_PEER_SH, [path, key])).toBe('removed');
    expect(readFileSync(path, 'utf8')).toBe(fixture);
    expect(runProgram(REMOVE_PEER_SH, [path, key])).toBe('absent');
  });

  it('removes only the named peer from a file with several', () => {
    const path = confFile(fixture);
    const before = listPeers(parseWgConf(fixture));
    const victim = before[0];
    expect(victim).toBeDefined();
    runProgram(REMOVE_PEER_SH, [path, victim?.publicKey ?? '']);
    const after = listPeers(parseWgConf(readFileSync(path, 'utf8')));
    expect(after.map((p) => p.publicKey)).toEqual(before.slice(1).map((p) => p.publicKey));
  });

  it('treats keys as data: a key with regex characters matches only itself', () => {
    const path = confFile(fixture);
    const lookalike = `${key.slice(0, 10)}.*${key.slice(12)}`;
    expect(runProgram(REMOVE_PEER_SH, [path, lookalike])).toBe('absent');
    expect(readFileSync(path, 'utf8')).toBe(fixture);
  });
});

describe('parsePeerCheck', () => {
  it('reads a live peer in the file', () => {
    const hub = 'hv5sozWqvQUl1yiAORFmaBVrWo3TdU4mmw+LIjiDAGE=';
    expect(parsePeerCheck(`hub ${hub}\nlive 10.66.1.2/32,fd00::2/128\nfile yes\n`)).toEqual({
      hubPublicKey: hub,
      liveAllowedIps: ['10.66.1.2/32', 'fd00::2/128'],
      inFile: true,
    });
  });
  it('reads an absent peer', () => {
    expect(parsePeerCheck('hub (none)\nlive -\nfile no\n')).toEqual({
      hubPublicKey: '(none)',
      liveAllowedIps: null,
      inFile: false,
    });
  });
});

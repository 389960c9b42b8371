import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ADOPT_PEER_SH, META_LINE } from '../../../../src/hub/programs/adopt.js';
import { REMOVE_PEER_SH } from '../../../../src/hub/programs/peers.js';
import { listPeers, parseWgConf, removePeer, renderWgConf } from '../../../../src/wg/conf.js';
import { generateKeyPair } from '../../../../src/wg/keys.js';
import { formatPeerMetaLine, PeerMeta } from '../../../../src/wg/peer-meta.js';

const dirs: string[] = [];
const gateway: string = generateKeyPair().publicKey;
const laptop: string = generateKeyPair().publicKey;
const other: string = generateKeyPair().publicKey;

/** A file written by hand: comments above and inside sections, odd spacing, an Endpoint. */
const HAND_MADE = `[Interface]
Address = 10.6.0.1/24
ListenPort = 51820
PrivateKey = ${generateKeyPair().privateKey}

# office gateway, set up by hand (ticket OPS-12)
[Peer]
  PublicKey=${gateway}
AllowedIPs = 10.6.0.2/32, 192.168.50.0/24
# the LAN behind it
Endpoint = 203.0.113.9:51820
PersistentKeepalive = 25

# Carol's laptop
[Peer]
PublicKey = ${laptop}
AllowedIPs = 10.6.0.3/32
`;

const meta = formatPeerMetaLine(
  PeerMeta.parse({
    peer: 'alice-office-gw',
    owner: 'alice',
    device: 'office-gw',
    request: 'r-abcdef',
    created: '2026-12-04T20:00:00.000Z',
    expires: null,
    mode: 'split',
  }),
);

function confFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tg-adopt-'));
  dirs.push(dir);
  const path = join(dir, 'wg0.conf');
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

function run(program: string, args: string[], input = ''): string {
  return execFileSync('sh', ['-c', program, 'test', ...args], { input, encoding: 'utf8' }).trim();
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('tunnelgate-adopt', () => {
  it('adds the metadata line right after the header and keeps every other byte', () => {
    const path = confFile(HAND_MADE);
    expect(run(ADOPT_PEER_SH, [path, gateway], `[Peer]\n${meta}\n`)).toBe('adopted');
    const after = readFileSync(path, 'utf8');
    expect(after).toBe(
      HAND_MADE.replace(`[Peer]\n  PublicKey=${gateway}`, `[Peer]\n${meta}\n  PublicKey=${gateway}`),
    );
    const peer = listPeers(parseWgConf(after)).find((p) => p.publicKey === gateway);
    expect(peer?.meta?.peer).toBe('alice-office-gw');
    expect(peer?.allowedIps).toEqual(['10.6.0.2/32', '192.168.50.0/24']);
  });

  it('keeps CRLF line ends in a CRLF file', () => {
    const crlf = HAND_MADE.replaceAll('\n', '\r\n');
    const path = confFile(crlf);
    expect(run(ADOPT_PEER_SH, [path, laptop], `[Peer]\n${meta}\n`)).toBe('adopted');
    expect(readFileSync(path, 'utf8')).toBe(
      crlf.replace(`[Peer]\r\nPublicKey = ${laptop}`, `[Peer]\r\n${meta}\r\nPublicKey = ${laptop}`),
    );
  });

  it('is a no-op on a rerun, and refuses a peer that has another metadata line or no section', () => {
    const path = confFile(HAND_MADE);
    run(ADOPT_PEER_SH, [path, gateway], `[Peer]\n${meta}\n`);
    const once = readFileSync(path, 'utf8');
    expect(run(ADOPT_PEER_SH, [path, gateway], `[Peer]\n${meta}\n`)).toBe('unchanged');
    expect(run(ADOPT_PEER_SH, [path, gateway], `[Peer]\n${meta.replace('alice', 'mallory')}\n`)).toBe(
      'managed',
    );
    expect(run(ADOPT_PEER_SH, [path, other], `[Peer]\n${meta}\n`)).toBe('absent');
    expect(readFileSync(path, 'utf8')).toBe(once);
  });

  it('declares its input so that the installed guard admits a metadata line and nothing else', () => {
    const admits = (line: string) => {
      try {
        execFileSync('grep', ['-Eqx', '-e', META_LINE], { input: `${line}\n` });
        return true;
      } catch {
        return false;
      }
    };
    expect(admits(meta)).toBe(true);
    expect(admits('# tunnelgate: {"peer":"x"}; rm -rf /')).toBe(false);
    expect(admits('PostUp = sh -c id')).toBe(false);
  });

  it('refuses input that is not a metadata line', () => {
    const path = confFile(HAND_MADE);
    expect(() => run(ADOPT_PEER_SH, [path, gateway], '[Interface]\n')).toThrow();
    expect(readFileSync(path, 'utf8')).toBe(HAND_MADE);
  });

  it('after adoption, removing the peer leaves the file as it was minus that section', () => {
    const path = confFile(HAND_MADE);
    run(ADOPT_PEER_SH, [path, gateway], `[Peer]\n${meta}\n`);
    expect(run(REMOVE_PEER_SH, [path, gateway])).toBe('removed');
    expect(readFileSync(path, 'utf8')).toBe(renderWgConf(removePeer(parseWgConf(HAND_MADE), gateway)));
    expect(readFileSync(path, 'utf8')).toContain("# Carol's laptop\n[Peer]");
  });
});

describe('tunnelgate-unpersist on a hand-made file', () => {
  it('removes each section exactly as the config parser delimits it', () => {
    for (const key of [gateway, laptop]) {
      const path = confFile(HAND_MADE);
      run(REMOVE_PEER_SH, [path, key]);
      expect(readFileSync(path, 'utf8')).toBe(renderWgConf(removePeer(parseWgConf(HAND_MADE), key)));
    }
  });
});

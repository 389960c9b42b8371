import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  addPeer,
  interfacePrivateKey,
  interfaceSettings,
  listPeers,
  parseWgConf,
  removePeer,
  renderPeerSection,
  renderWgConf,
} from '../../../src/wg/conf.js';
import { parseDump } from '../../../src/wg/dump.js';
import { publicKeyFromPrivate } from '../../../src/wg/keys.js';
import { thrownError } from '../../support/errors.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/wg/${name}`, import.meta.url), 'utf8');

const REAL_FILES = ['hub-with-meta.conf', 'wg-quick-saved.conf', 'wg-quick-input.conf', 'hub-showconf.conf'];
const OFFICE = 'jINNWKi8HFa6s14Rd+RL4mB34QIrhU3gEPb3rZ4JkFM=';
const ALICE = '+YTfXfLtmwBQ/hYLCsR63LpptJPyBPOFGjHZUdFGu2g=';
const BOB = 'CreQZ3u9HaXiwM7Uk/97lulYiZgbQPPTwt09g+5colY=';
const CAROL = 'A4DJ/EnmGlh2TV/ogvpqABCEeUOcvqfuhyxrWGwMOmc=';
const KEY_A = 'VQY/b1zNilDrStLn5aH01xkz4FY790Kd6mXG6AyNRGs=';
const KEY_B = 'HoKzgacj7qgvK+t4wjQzuFNz4r918NwGxQeZd3SPFUg=';
const PRIVATE = 'oMH7IR0KmCTUoT8vHpcuJKb7sbdJD+7wxKkFh+Gji30=';

const META = {
  peer: 'carol-desktop',
  owner: 'carol',
  device: 'desktop',
  request: 'r-9q2w4e',
  created: '2026-11-24T16:00:00.000Z',
  expires: '2026-11-24T23:00:00.000Z',
  mode: 'split' as const,
};
const NEW_PEER = { publicKey: CAROL, allowedIps: ['10.6.0.5/32', 'fd00:6::5/128'], meta: META };

/** Odd but valid files: wg and wg-quick read keys case-insensitively and ignore comments. */
const ODD_FILES: Record<string, string> = {
  'CRLF line ends': `[Interface]\r\nPrivateKey = ${PRIVATE}\r\nListenPort = 51820\r\n\r\n[Peer]\r\nPublicKey = ${KEY_A}\r\nAllowedIPs = 10.6.0.2/32\r\n`,
  'no final newline': `[Interface]\nListenPort = 51820\n\n[Peer]\nPublicKey = ${KEY_A}\nAllowedIPs = 10.6.0.2/32`,
  'odd spacing and case': `[interface]\n  address=10.6.0.1/24\nlistenport   =  51820   # the default\n\tMTU\t=\t1420\n\n\n[PEER]   # alice\npublickey=${KEY_A}\n allowedips = 10.6.0.2/32 ,10.9.0.0/24,\n`,
  'unknown keys and sections': `# preamble\n\n[Interface]\nListenPort = 51820\nFooBar = baz\n\n[Extra]\nWhatever = 1\n\n[Peer]\nPublicKey = ${KEY_A}\nUnknownKey = 7\nAllowedIPs = 10.6.0.2/32\n`,
  'leading and trailing blank lines': `\n\n[Interface]\nListenPort = 51820\n\n[Peer]\nPublicKey = ${KEY_A}\nAllowedIPs = 10.6.0.2/32\n\n\n`,
  'comment blocks between peers': `[Interface]\nListenPort = 51820\n# trailing interface comment\n\n# alice's laptop\n# (added by hand)\n[Peer]\nPublicKey = ${KEY_A}\nAllowedIPs = 10.6.0.2/32\n\n# bob\n\n[Peer]\nPublicKey = ${KEY_B}\nAllowedIPs = 10.6.0.3/32\n`,
  empty: '',
  'a single newline': '\n',
  'only comments': '# nothing here yet\n',
};

describe('parseWgConf and renderWgConf', () => {
  it.each(REAL_FILES)('round-trip %s byte for byte', (name) => {
    const text = fixture(name);
    expect(renderWgConf(parseWgConf(text))).toBe(text);
  });

  it.each(Object.entries(ODD_FILES))('round-trip a file with %s', (_label, text) => {
    expect(renderWgConf(parseWgConf(text))).toBe(text);
  });

  it('splits a file into preamble, interface and peer sections', () => {
    const conf = parseWgConf(fixture('hub-with-meta.conf'));
    expect(conf.sections.map((s) => s.kind)).toEqual(['preamble', 'interface', 'peer', 'peer', 'peer']);
  });

  it('gives the blank and comment lines above a header to the section below', () => {
    const conf = parseWgConf(ODD_FILES['comment blocks between peers'] ?? '');
    const [iface, alice, bob] = conf.sections;
    expect(iface?.lines.at(-1)).toBe('# trailing interface comment');
    expect(alice?.lines.slice(0, alice.headerIndex)).toEqual(['', "# alice's laptop", '# (added by hand)']);
    expect(bob?.lines.slice(0, bob.headerIndex)).toEqual(['', '# bob', '']);
  });
});

describe('listPeers', () => {
  it('reads peers and their tunnelgate comments from a hub file', () => {
    const peers = listPeers(parseWgConf(fixture('hub-with-meta.conf')));
    expect(peers.map((p) => p.publicKey)).toEqual([OFFICE, ALICE, BOB]);
    expect(peers[0]).toEqual({
      publicKey: OFFICE,
      allowedIps: ['10.6.0.2/32', '10.20.0.0/16'],
      endpoint: '203.0.113.50:51820',
      persistentKeepalive: 25,
      hasPresharedKey: false,
      meta: null,
      line: 14,
    });
    expect(peers[1]?.meta).toEqual({
      peer: 'alice-laptop',
      owner: 'alice',
      device: 'laptop',
      request: 'r-7k3m9q',
      created: '2026-11-24T15:00:00.000Z',
      expires: null,
      mode: 'split',
    });
    expect(peers[2]).toMatchObject({
      hasPresharedKey: true,
      meta: { mode: 'full', expires: '2026-11-25T15:05:00.000Z' },
    });
  });

  it('agrees with the live dump of the interface that wg-quick saved', () => {
    const fromFile = listPeers(parseWgConf(fixture('wg-quick-saved.conf')));
    const live = parseDump(fixture('wg-quick-saved.dump')).peers;
    const view = (p: { publicKey: string; allowedIps: string[]; endpoint: string | null }) => [
      p.publicKey,
      p.allowedIps.join(','),
      p.endpoint,
    ];
    expect(fromFile.map(view).sort()).toEqual(live.map(view).sort());
  });

  it('agrees with `wg show dump` for the hub captured with `wg showconf`', () => {
    const fromFile = listPeers(parseWgConf(fixture('hub-showconf.conf')));
    const live = parseDump(fixture('hub.dump')).peers;
    const view = (p: {
      publicKey: string;
      allowedIps: string[];
      endpoint: string | null;
      persistentKeepalive: number | null;
      hasPresharedKey: boolean;
    }) => JSON.stringify([p.publicKey, p.allowedIps, p.endpoint, p.persistentKeepalive, p.hasPresharedKey]);
    expect(fromFile.map(view).sort()).toEqual(live.map(view).sort());
  });

  it('reads odd spacing, case, trailing commas and bare addresses the way wg does', () => {
    const peers = listPeers(parseWgConf(ODD_FILES['odd spacing and case'] ?? ''));
    expect(peers).toEqual([
      expect.objectContaining({ publicKey: KEY_A, allowedIps: ['10.6.0.2/32', '10.9.0.0/24'] }),
    ]);
    const bare = listPeers(
      parseWgConf(`[Peer]\nPublicKey = ${KEY_A}\nAllowedIPs = 10.6.0.2, fd00::2\nAllowedIPs = 10.6.1.0/24\n`),
    );
    expect(bare[0]?.allowedIps).toEqual(['10.6.0.2/32', 'fd00::2/128', '10.6.1.0/24']);
  });

  it('treats PersistentKeepalive = off as no keepalive', () => {
    const peers = listPeers(parseWgConf(`[Peer]\nPublicKey = ${KEY_A}\nPersistentKeepalive = off\n`));
    expect(peers[0]?.persistentKeepalive).toBeNull();
  });

  it('rejects a peer without a PublicKey, naming its line', () => {
    const err = thrownError(() =>
      listPeers(parseWgConf(`[Interface]\nListenPort = 1\n\n[Peer]\nAllowedIPs = 10.6.0.2/32\n`)),
    );
    expect(err.code).toBe('HUB_STATE_INVALID');
    expect(err.message).toBe('WireGuard config line 4: [Peer] has no PublicKey');
  });

  it('rejects a malformed PublicKey', () => {
    expect(thrownError(() => listPeers(parseWgConf('[Peer]\nPublicKey = abc\n'))).message).toBe(
      'WireGuard config line 2: "abc" is not a WireGuard key: expected 44 characters of base64 encoding 32 bytes',
    );
  });

  it('rejects a broken tunnelgate comment, naming its line', () => {
    const text = fixture('hub-with-meta.conf').replace('"mode":"split"', '"mode":"spilt"');
    const err = thrownError(() => listPeers(parseWgConf(text)));
    expect(err.code).toBe('HUB_STATE_INVALID');
    expect(err.message).toMatch(/^WireGuard config line 21: the tunnelgate comment is invalid/);
  });

  it('rejects two tunnelgate comments in one peer', () => {
    const text = fixture('hub-with-meta.conf');
    const line = text.split('\n')[20] ?? '';
    const err = thrownError(() => listPeers(parseWgConf(text.replace(line, `${line}\n${line}`))));
    expect(err.message).toBe('WireGuard config line 22: a second tunnelgate comment in one [Peer]');
  });

  it('rejects two sections with the same public key', () => {
    const text = `[Peer]\nPublicKey = ${KEY_A}\n\n[Peer]\nPublicKey = ${KEY_A}\n`;
    expect(thrownError(() => listPeers(parseWgConf(text))).message).toBe(
      'WireGuard config line 4: the same PublicKey as the [Peer] on line 1',
    );
  });

  it('rejects a bad AllowedIPs entry', () => {
    const err = thrownError(() =>
      listPeers(parseWgConf(`[Peer]\nPublicKey = ${KEY_A}\nAllowedIPs = 10.6.0.2/33\n`)),
    );
    expect(err.message).toBe('WireGuard config line 3: "10.6.0.2/33" is not an IP address or CIDR');
  });
});

describe('interfaceSettings', () => {
  it('reads the settings of a file wg-quick saved', () => {
    const settings = interfaceSettings(parseWgConf(fixture('wg-quick-saved.conf')));
    expect(settings).toEqual({
      addresses: ['10.8.0.1/24', 'fd00:8::1/64', 'fe80::ac3f:ba5c:3698:5f20/64'],
      listenPort: 51821,
      mtu: 1420,
      dns: [],
      table: null,
      fwMark: null,
      saveConfig: true,
      preUp: [],
      postUp: ['sysctl -q -w net.ipv4.ip_forward=1'],
      preDown: [],
      postDown: [],
      hasPrivateKey: true,
    });
  });

  it('reads a hand-written hub file and never exposes the private key', () => {
    const text = fixture('hub-with-meta.conf');
    const settings = interfaceSettings(parseWgConf(text));
    expect(settings).toMatchObject({ addresses: ['10.6.0.1/24'], listenPort: 51820, saveConfig: false });
    expect(settings.postUp[0]).toBe(
      'iptables -A FORWARD -i %i -j ACCEPT; iptables -t nat -A POSTROUTING -s 10.6.0.0/24 -o eth0 -j MASQUERADE',
    );
    const privateKey = /PrivateKey = (\S+)/.exec(text)?.[1] ?? '';
    expect(JSON.stringify(settings)).not.toContain(privateKey);
  });

  it('reads odd spacing and case', () => {
    const settings = interfaceSettings(parseWgConf(ODD_FILES['odd spacing and case'] ?? ''));
    expect(settings).toMatchObject({
      addresses: ['10.6.0.1/24'],
      listenPort: 51820,
      mtu: 1420,
      hasPrivateKey: false,
    });
  });

  it('reads the showconf values FwMark and several DNS lines', () => {
    expect(interfaceSettings(parseWgConf(fixture('hub-showconf.conf'))).fwMark).toBe('0x1234');
    const dns = interfaceSettings(
      parseWgConf('[Interface]\nDNS = 10.6.0.1, 10.6.0.2\nDNS = corp.example\n'),
    ).dns;
    expect(dns).toEqual(['10.6.0.1', '10.6.0.2', 'corp.example']);
  });

  it('rejects a bad ListenPort, naming its line', () => {
    const err = thrownError(() =>
      interfaceSettings(parseWgConf('[Interface]\nAddress = 10.6.0.1/24\nListenPort = abc\n')),
    );
    expect(err.code).toBe('HUB_STATE_INVALID');
    expect(err.message).toBe('WireGuard config line 3: "abc" is not a number from 1 to 65535');
  });

  it('rejects a file without [Interface] or with two', () => {
    expect(thrownError(() => interfaceSettings(parseWgConf(`[Peer]\nPublicKey = ${KEY_A}\n`))).message).toBe(
      'WireGuard config line 1: there is no [Interface] section',
    );
    expect(thrownError(() => interfaceSettings(parseWgConf('[Interface]\n\n[Interface]\n'))).message).toBe(
      'WireGuard config line 3: a second [Interface] section',
    );
  });
});

describe('interfacePrivateKey', () => {
  it('returns the key whose public half the live interface reports', () => {
    const privateKey = interfacePrivateKey(parseWgConf(fixture('hub-showconf.conf')));
    expect(privateKey).not.toBeNull();
    expect(publicKeyFromPrivate(privateKey ?? '')).toBe(parseDump(fixture('hub.dump')).interface.publicKey);
  });

  it('returns null without a PrivateKey and rejects a bad one without repeating it', () => {
    expect(interfacePrivateKey(parseWgConf('[Interface]\nListenPort = 51820\n'))).toBeNull();
    const err = thrownError(() =>
      interfacePrivateKey(parseWgConf(`[Interface]\nPrivateKey = ${PRIVATE.slice(0, 40)}\n`)),
    );
    expect(err.message).toBe('WireGuard config line 2: PrivateKey is not a WireGuard key');
  });
});

describe('renderPeerSection', () => {
  it('renders the block appended for a new peer', () => {
    expect(renderPeerSection({ ...NEW_PEER, persistentKeepalive: 25 })).toBe(
      '\n[Peer]\n' +
        '# tunnelgate: {"peer":"carol-desktop","owner":"carol","device":"desktop","request":"r-9q2w4e","created":"2026-11-24T16:00:00.000Z","expires":"2026-11-24T23:00:00.000Z","mode":"split"}\n' +
        `PublicKey = ${CAROL}\n` +
        'AllowedIPs = 10.6.0.5/32, fd00:6::5/128\n' +
        'PersistentKeepalive = 25\n',
    );
  });

  it('rejects bad input with INPUT_INVALID naming the field', () => {
    const err = thrownError(() =>
      renderPeerSection({ ...NEW_PEER, allowedIps: ['10.6.0.5/32\nPostUp = rm -rf /'] }),
    );
    expect(err.code).toBe('INPUT_INVALID');
    expect(err.message).toContain('allowedIps.0: ');
    expect(thrownError(() => renderPeerSection({ ...NEW_PEER, allowedIps: [] })).code).toBe('INPUT_INVALID');
    expect(
      thrownError(() => renderPeerSection({ ...NEW_PEER, meta: { ...META, owner: 'a b' } })).message,
    ).toContain('meta.owner');
  });
});

describe('addPeer and removePeer', () => {
  const files = [
    ...REAL_FILES.map((name) => [name, fixture(name)] as const),
    ...Object.entries(ODD_FILES),
  ].filter(([, text]) => text === '' || text.endsWith('\n'));

  it.each(files)('add then remove restores %s byte for byte', (_label, text) => {
    const added = addPeer(parseWgConf(text), NEW_PEER);
    expect(renderWgConf(removePeer(added, CAROL))).toBe(text);
  });

  it.each(REAL_FILES)('adding to %s appends exactly the rendered block', (name) => {
    const text = fixture(name);
    const rendered = renderWgConf(addPeer(parseWgConf(text), NEW_PEER));
    expect(rendered).toBe(text + renderPeerSection(NEW_PEER));
    expect(renderWgConf(parseWgConf(rendered))).toBe(rendered);
    expect(listPeers(parseWgConf(rendered)).at(-1)).toMatchObject({ publicKey: CAROL, meta: META });
  });

  it('starts a new line first in a file without a final newline', () => {
    const text = ODD_FILES['no final newline'] ?? '';
    expect(renderWgConf(addPeer(parseWgConf(text), NEW_PEER))).toBe(
      `${text}\n${renderPeerSection(NEW_PEER)}`,
    );
  });

  it('leaves a final newline behind after add and remove in a file that had none', () => {
    const text = ODD_FILES['no final newline'] ?? '';
    expect(renderWgConf(removePeer(addPeer(parseWgConf(text), NEW_PEER), CAROL))).toBe(`${text}\n`);
  });

  it('keeps CRLF line ends in a CRLF file', () => {
    const text = ODD_FILES['CRLF line ends'] ?? '';
    const rendered = renderWgConf(addPeer(parseWgConf(text), NEW_PEER));
    expect(rendered).toBe(text + renderPeerSection(NEW_PEER).replaceAll('\n', '\r\n'));
    expect(listPeers(parseWgConf(rendered)).at(-1)?.meta).toEqual(META);
  });

  it('refuses a public key that is already configured', () => {
    const err = thrownError(() =>
      addPeer(parseWgConf(fixture('hub-with-meta.conf')), { ...NEW_PEER, publicKey: ALICE }),
    );
    expect(err.code).toBe('CONFLICT');
    expect(err.message).toBe(`peer ${ALICE} is already configured (line 20)`);
  });

  it('removes a middle peer with its blank line and its comment block', () => {
    const text = ODD_FILES['comment blocks between peers'] ?? '';
    expect(renderWgConf(removePeer(parseWgConf(text), KEY_A))).toBe(
      `[Interface]\nListenPort = 51820\n# trailing interface comment\n\n# bob\n\n[Peer]\nPublicKey = ${KEY_B}\nAllowedIPs = 10.6.0.3/32\n`,
    );
  });

  it('removes a real peer and leaves the others untouched', () => {
    const text = fixture('hub-with-meta.conf');
    const removed = renderWgConf(removePeer(parseWgConf(text), ALICE));
    const aliceBlock = text.slice(
      text.indexOf('\n[Peer]\n# tunnelgate: {"peer":"alice'),
      text.indexOf('\n[Peer]\n# tunnelgate: {"peer":"bob'),
    );
    expect(removed).toBe(text.replace(aliceBlock, ''));
    expect(listPeers(parseWgConf(removed)).map((p) => p.publicKey)).toEqual([OFFICE, BOB]);
  });

  it('throws NOT_FOUND for an unknown key', () => {
    expect(thrownError(() => removePeer(parseWgConf(fixture('hub-with-meta.conf')), CAROL)).code).toBe(
      'NOT_FOUND',
    );
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TunnelgateError } from '../../../src/core/errors.js';
import { parseDump, WgDump } from '../../../src/wg/dump.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/wg/${name}`, import.meta.url), 'utf8');

const HUB_PUBLIC = 'Dwj7P4KT2nUbTptM3kzBFnVIuuY+oAYhvRFYyR4mqV8=';
const ALICE = 'VQY/b1zNilDrStLn5aH01xkz4FY790Kd6mXG6AyNRGs=';
const BOB = 'HoKzgacj7qgvK+t4wjQzuFNz4r918NwGxQeZd3SPFUg=';
const CAROL = '0ipzS3uT/DOgjhvn5Ky5n1psMhthgKWD7Ad5NsiCnA4=';
const DAVE = 'JoKnNQPyt/qBNFXRfZhrp+mQJVYFtM6fKS/asbQ1WmI=';
const ERIN = 'Ua4m27jKe36Dd6ccs5227vGg49EnEzjqElL8kJb9EGQ=';

function peerLine(
  fields: Partial<Record<'endpoint' | 'allowedIps' | 'handshake' | 'keepalive', string>>,
): string {
  return [
    ALICE,
    '(none)',
    fields.endpoint ?? '(none)',
    fields.allowedIps ?? '10.6.0.2/32',
    fields.handshake ?? '0',
    '0',
    '0',
    fields.keepalive ?? 'off',
  ].join('\t');
}

const INTERFACE_LINE = fixture('hub.dump').split('\n')[0] ?? '';

function dumpError(text: string): TunnelgateError {
  try {
    parseDump(text);
  } catch (err) {
    if (err instanceof TunnelgateError) return err;
    throw err;
  }
  throw new Error('expected a TunnelgateError');
}

describe('parseDump on real captures', () => {
  it('reads the hub interface line', () => {
    expect(parseDump(fixture('hub.dump')).interface).toEqual({
      publicKey: HUB_PUBLIC,
      listenPort: 51820,
      fwmark: 0x1234,
    });
  });

  it('reads every peer of the hub', () => {
    const peers = parseDump(fixture('hub.dump')).peers;
    expect(peers.map((p) => p.publicKey)).toEqual([ERIN, ALICE, BOB, CAROL, DAVE]);
    expect(peers[1]).toEqual({
      publicKey: ALICE,
      hasPresharedKey: false,
      endpoint: '198.51.100.2:52054',
      allowedIps: ['10.6.0.2/32'],
      latestHandshake: 1_795_533_967,
      transferRx: 564,
      transferTx: 476,
      persistentKeepalive: null,
    });
  });

  it('reads an IPv6 endpoint, a preshared key and several allowed-ips', () => {
    const bob = parseDump(fixture('hub.dump')).peers[2];
    expect(bob?.endpoint).toBe('[2001:db8::2]:44351');
    expect(bob?.hasPresharedKey).toBe(true);
    expect(bob?.allowedIps).toEqual(['10.6.0.3/32', '10.7.0.0/24', 'fd00:6::3/128']);
  });

  it('reads a peer that never shook hands, with keepalive on', () => {
    const carol = parseDump(fixture('hub.dump')).peers[3];
    expect(carol).toMatchObject({
      endpoint: '203.0.113.10:41641',
      latestHandshake: null,
      persistentKeepalive: 25,
    });
  });

  it('reads a peer with no endpoint and no allowed-ips', () => {
    const dave = parseDump(fixture('hub.dump')).peers[4];
    expect(dave).toMatchObject({ endpoint: null, allowedIps: [], latestHandshake: null, transferRx: 0 });
  });

  it('represents "never" as null for every peer of a fresh hub', () => {
    const peers = parseDump(fixture('hub-no-handshake.dump')).peers;
    expect(peers).toHaveLength(5);
    expect(peers.every((p) => p.latestHandshake === null)).toBe(true);
  });

  it('reads client interfaces with fwmark off', () => {
    const v4 = parseDump(fixture('client-ipv4.dump'));
    expect(v4.interface).toEqual({ publicKey: ALICE, listenPort: 52054, fwmark: null });
    expect(v4.peers[0]).toMatchObject({
      publicKey: HUB_PUBLIC,
      endpoint: '198.51.100.1:51820',
      persistentKeepalive: 25,
    });
    const v6 = parseDump(fixture('client-ipv6.dump'));
    expect(v6.peers[0]).toMatchObject({ endpoint: '[2001:db8::1]:51820', hasPresharedKey: true });
    expect(v6.peers[0]?.transferRx).toBe(parseDump(fixture('hub.dump')).peers[2]?.transferTx);
  });

  it('reads an interface that has no keys yet', () => {
    expect(parseDump(fixture('unconfigured.dump'))).toEqual({
      interface: { publicKey: null, listenPort: 34438, fwmark: null },
      peers: [],
    });
  });

  it('keeps the private and preshared keys out of the result', () => {
    const text = fixture('hub.dump');
    const privateKey = INTERFACE_LINE.split('\t')[0] ?? '';
    const psk = text.split('\n')[3]?.split('\t')[1] ?? '';
    expect(privateKey).toHaveLength(44);
    expect(psk).toHaveLength(44);
    const json = JSON.stringify(parseDump(text));
    expect(json).not.toContain(privateKey);
    expect(json).not.toContain(psk);
  });

  it('produces values that satisfy the WgDump schema', () => {
    for (const name of [
      'hub.dump',
      'hub-no-handshake.dump',
      'client-ipv4.dump',
      'client-ipv6.dump',
      'unconfigured.dump',
    ]) {
      const dump = parseDump(fixture(name));
      expect(WgDump.parse(JSON.parse(JSON.stringify(dump)))).toEqual(dump);
    }
  });
});

describe('parseDump edge cases', () => {
  it('accepts output without a final newline', () => {
    expect(parseDump(fixture('hub.dump').trimEnd()).peers).toHaveLength(5);
  });

  it('accepts a link-local IPv6 endpoint with a zone', () => {
    const dump = parseDump(`${INTERFACE_LINE}\n${peerLine({ endpoint: '[fe80::1%eth0]:51820' })}\n`);
    expect(dump.peers[0]?.endpoint).toBe('[fe80::1%eth0]:51820');
  });

  it('converts a handshake time and keeps it in seconds', () => {
    const dump = parseDump(`${INTERFACE_LINE}\n${peerLine({ handshake: '1795533967', keepalive: '15' })}\n`);
    expect(dump.peers[0]).toMatchObject({ latestHandshake: 1_795_533_967, persistentKeepalive: 15 });
  });

  it('rejects empty output', () => {
    expect(dumpError('').message).toContain('line 1');
  });

  it('rejects a peer line with the wrong number of fields, naming the line', () => {
    const text = `${INTERFACE_LINE}\n${peerLine({})}\n${peerLine({}).split('\t').slice(0, 5).join('\t')}\n`;
    const err = dumpError(text);
    expect(err.code).toBe('HUB_STATE_INVALID');
    expect(err.message).toBe(
      'unexpected `wg show dump` output, line 3: expected 8 tab-separated fields (public-key, preshared-key, endpoint, allowed-ips, latest-handshake, transfer-rx, transfer-tx, persistent-keepalive), found 5',
    );
  });

  it('rejects `wg show all dump`, which has an extra interface column', () => {
    expect(dumpError(`wg0\t${INTERFACE_LINE}\n`).message).toContain(
      'line 1: expected 4 tab-separated fields',
    );
  });

  it('rejects a bad endpoint', () => {
    expect(dumpError(`${INTERFACE_LINE}\n${peerLine({ endpoint: '2001:db8::1:51820' })}`).message).toContain(
      'line 2: endpoint "2001:db8::1:51820" is not ip:port or [ipv6]:port',
    );
    expect(dumpError(`${INTERFACE_LINE}\n${peerLine({ endpoint: '198.51.100.7:70000' })}`).message).toContain(
      'line 2',
    );
  });

  it('rejects a bad allowed ip', () => {
    expect(
      dumpError(`${INTERFACE_LINE}\n${peerLine({ allowedIps: '10.6.0.2/32,10.6.0.300/32' })}`).message,
    ).toContain('line 2: allowed-ips: "10.6.0.300/32" is not a CIDR');
  });

  it('rejects a non-numeric counter and an out-of-range keepalive', () => {
    expect(dumpError(`${INTERFACE_LINE}\n${peerLine({ handshake: 'yesterday' })}`).message).toContain(
      'line 2: latest-handshake "yesterday" is not a whole number',
    );
    expect(dumpError(`${INTERFACE_LINE}\n${peerLine({ keepalive: '0' })}`).message).toContain('line 2');
  });

  it('rejects a malformed private key without repeating it', () => {
    const fields = INTERFACE_LINE.split('\t');
    const broken = `${(fields[0] ?? '').slice(0, 40)}\t${fields.slice(1).join('\t')}`;
    const err = dumpError(`${broken}\n`);
    expect(err.message).toBe('unexpected `wg show dump` output, line 1: private-key is not a WireGuard key');
  });

  it('rejects a blank line between peers', () => {
    expect(dumpError(`${INTERFACE_LINE}\n\n${peerLine({})}\n`).message).toContain('line 2');
  });
});

describe('dumps read through Tunnelgate', () => {
  it('accepts the interface private key hidden on the hub', () => {
    const real = readFileSync(new URL('../../fixtures/wg/hub.dump', import.meta.url), 'utf8');
    const [first = '', ...rest] = real.split('\n');
    const hidden = [['(hidden)', ...first.split('\t').slice(1)].join('\t'), ...rest].join('\n');
    expect(parseDump(hidden)).toEqual(parseDump(real));
  });
});

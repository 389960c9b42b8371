import { describe, expect, it } from 'vitest';
import { PRIVATE_KEY_PLACEHOLDER, renderClientConfig } from '../../../src/wg/client-config.js';
import { interfacePrivateKey, interfaceSettings, listPeers, parseWgConf } from '../../../src/wg/conf.js';
import { generateKeyPair } from '../../../src/wg/keys.js';
import { thrownError } from '../../support/errors.js';

const CLIENT = generateKeyPair();
const HUB = generateKeyPair();

const SPLIT = {
  privateKey: CLIENT.privateKey,
  address: '10.6.0.7/32',
  dns: ['10.6.0.1'],
  hubPublicKey: HUB.publicKey,
  endpoint: 'vpn.example.com:51820',
  mode: 'split' as const,
  routes: ['10.6.0.0/24', '10.20.0.0/16'],
};

describe('renderClientConfig', () => {
  it('renders a split-tunnel config', () => {
    expect(renderClientConfig(SPLIT)).toBe(
      [
        '[Interface]',
        `PrivateKey = ${CLIENT.privateKey}`,
        'Address = 10.6.0.7/32',
        'DNS = 10.6.0.1',
        '',
        '[Peer]',
        `PublicKey = ${HUB.publicKey}`,
        'Endpoint = vpn.example.com:51820',
        'AllowedIPs = 10.6.0.0/24, 10.20.0.0/16',
        'PersistentKeepalive = 25',
        '',
      ].join('\n'),
    );
  });

  it('routes all IPv4 and IPv6 traffic in full mode, whatever the routes', () => {
    const text = renderClientConfig({ ...SPLIT, mode: 'full', routes: [] });
    expect(text).toContain('\nAllowedIPs = 0.0.0.0/0, ::/0\n');
  });

  it('adds the IPv6 address and MTU, and leaves DNS out when there is none', () => {
    const text = renderClientConfig({ ...SPLIT, address6: 'fd00:6::7/128', dns: [], mtu: 1380 });
    expect(text).toContain('\nAddress = 10.6.0.7/32, fd00:6::7/128\nMTU = 1380\n\n[Peer]\n');
    expect(text).not.toContain('DNS');
  });

  it('writes a placeholder when the user kept their own private key', () => {
    expect(renderClientConfig({ ...SPLIT, privateKey: null })).toContain(
      `PrivateKey = ${PRIVATE_KEY_PLACEHOLDER}\n`,
    );
  });

  it('accepts a bracketed IPv6 endpoint', () => {
    expect(renderClientConfig({ ...SPLIT, endpoint: '[2001:db8::1]:51820' })).toContain(
      'Endpoint = [2001:db8::1]:51820',
    );
  });

  it('produces a file our own parser reads back', () => {
    const conf = parseWgConf(renderClientConfig({ ...SPLIT, address6: 'fd00:6::7/128', mtu: 1380 }));
    expect(interfaceSettings(conf)).toMatchObject({
      addresses: ['10.6.0.7/32', 'fd00:6::7/128'],
      dns: ['10.6.0.1'],
      mtu: 1380,
    });
    expect(interfacePrivateKey(conf)).toBe(CLIENT.privateKey);
    expect(listPeers(conf)).toEqual([
      expect.objectContaining({
        publicKey: HUB.publicKey,
        endpoint: 'vpn.example.com:51820',
        allowedIps: SPLIT.routes,
        persistentKeepalive: 25,
      }),
    ]);
  });

  it('rejects an address that is not a single IPv4 host', () => {
    expect(thrownError(() => renderClientConfig({ ...SPLIT, address: '10.6.0.7/24' })).message).toBe(
      'invalid client config: address: "10.6.0.7/24" is not an IPv4 /32 address',
    );
    expect(thrownError(() => renderClientConfig({ ...SPLIT, address: 'fd00::7/128' })).code).toBe(
      'INPUT_INVALID',
    );
    expect(thrownError(() => renderClientConfig({ ...SPLIT, address6: '10.6.0.7/32' })).message).toContain(
      'address6: "10.6.0.7/32" is not an IPv6 /128 address',
    );
  });

  it('rejects a split tunnel without routes', () => {
    expect(thrownError(() => renderClientConfig({ ...SPLIT, routes: [] })).message).toBe(
      'invalid client config: routes: a split tunnel needs at least one route',
    );
  });

  it('rejects values that could smuggle extra lines into the file', () => {
    for (const bad of [
      { endpoint: 'vpn.example.com:51820\nPostUp = curl evil' },
      { endpoint: 'vpn.example.com' },
      { endpoint: 'vpn.example.com:0' },
      { dns: ['10.6.0.1\nPostUp = x'] },
      { routes: ['10.6.0.0/24, 0.0.0.0/0'] },
      { mtu: 100 },
    ]) {
      expect(thrownError(() => renderClientConfig({ ...SPLIT, ...bad })).code).toBe('INPUT_INVALID');
    }
  });

  it('rejects a malformed private key without repeating it', () => {
    const nearMiss = CLIENT.privateKey.slice(0, 43);
    const err = thrownError(() => renderClientConfig({ ...SPLIT, privateKey: nearMiss }));
    expect(err.code).toBe('INPUT_INVALID');
    expect(err.message).not.toContain(nearMiss);
  });
});

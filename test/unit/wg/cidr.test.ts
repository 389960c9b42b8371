import { BlockList } from 'node:net';
import { describe, expect, it } from 'vitest';
import { TunnelgateError } from '../../../src/core/errors.js';
import {
  Cidr,
  cidrRange,
  contains,
  formatAddress,
  formatCidr,
  overlaps,
  parseAddress,
  parseCidr,
  tryParseAddress,
  tryParseCidr,
} from '../../../src/wg/cidr.js';

describe('parseCidr', () => {
  it('parses an IPv4 block', () => {
    expect(parseCidr('10.6.0.0/24')).toEqual({ family: 4, network: 0x0a060000n, prefix: 24 });
  });

  it('parses IPv6 blocks in every spelling', () => {
    expect(parseCidr('fd00:6::/64')).toEqual({ family: 6, network: 0xfd000006n << 96n, prefix: 64 });
    expect(parseCidr('::/0')).toEqual({ family: 6, network: 0n, prefix: 0 });
    expect(parseCidr('::1/128')).toEqual({ family: 6, network: 1n, prefix: 128 });
    expect(parseCidr('FD00:0006:0000:0000:0000:0000:0000:0000/64')).toEqual(parseCidr('fd00:6::/64'));
    expect(parseCidr('1:2:3:4:5:6:7::/128').network).toBe(0x00010002000300040005000600070000n);
    expect(parseCidr('::ffff:10.6.0.1/128').network).toBe(0xffff0a060001n);
  });

  it('clears host bits, as WireGuard does with AllowedIPs', () => {
    expect(formatCidr(parseCidr('10.6.0.77/24'))).toBe('10.6.0.0/24');
    expect(formatCidr(parseCidr('fd00:6::1/64'))).toBe('fd00:6::/64');
  });

  it.each([
    '10.6.0.0/33',
    '10.6.0/24',
    '10.6.0.256/24',
    '010.6.0.0/24',
    '10.6.0.0',
    '10.6.0.0/',
    '10.6.0.0/024',
    '10.6.0.0/-1',
    ' 10.6.0.0/24',
    'fd00::/129',
    '1::2::3/64',
    '1:2:3:4:5:6:7:8:9/64',
    '1:2:3:4:5:6:7:8::/64',
    '1.2.3.4::/64',
    '12345::/64',
    'fe80::1%eth0/64',
    'example.com/24',
  ])('rejects %j', (text) => {
    expect(tryParseCidr(text)).toBeNull();
    expect(() => parseCidr(text)).toThrow(TunnelgateError);
  });

  it('throws INPUT_INVALID naming the text', () => {
    expect(() => parseCidr('10.6.0.0/33')).toThrow(
      expect.objectContaining({ code: 'INPUT_INVALID', message: '"10.6.0.0/33" is not a CIDR' }),
    );
  });
});

describe('Cidr', () => {
  it('keeps the text as written', () => {
    expect(Cidr.parse('10.6.0.1/24')).toBe('10.6.0.1/24');
  });

  it('says which value is not a CIDR', () => {
    expect(Cidr.safeParse('10.6.0.0/33').error?.issues[0]?.message).toBe('"10.6.0.0/33" is not a CIDR');
  });
});

describe('addresses', () => {
  it('parses and formats IPv4', () => {
    expect(parseAddress('198.51.100.7')).toEqual({ family: 4, value: 0xc6336407n });
    expect(formatAddress({ family: 4, value: 0xc6336407n })).toBe('198.51.100.7');
  });

  it('formats IPv6 the RFC 5952 way', () => {
    const format = (text: string) => formatAddress(parseAddress(text));
    expect(format('2001:DB8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(format('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1');
    expect(format('2001:0:0:1:0:0:0:1')).toBe('2001:0:0:1::1');
    expect(format('0:0:0:0:0:0:0:0')).toBe('::');
    expect(format('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(format('fd00:6:0:0:0:0:0:0')).toBe('fd00:6::');
  });

  it('rejects zone ids and garbage', () => {
    expect(tryParseAddress('fe80::1%eth0')).toBeNull();
    expect(tryParseAddress('1.2.3')).toBeNull();
    expect(() => parseAddress('vpn.example.com')).toThrow(
      expect.objectContaining({ code: 'INPUT_INVALID', message: '"vpn.example.com" is not an IP address' }),
    );
  });
});

describe('overlaps', () => {
  it('finds nested and identical blocks', () => {
    expect(overlaps('10.6.0.0/24', '10.6.0.128/25')).toBe(true);
    expect(overlaps('10.6.0.7/32', '10.6.0.7/32')).toBe(true);
    expect(overlaps('::/0', 'fd00:6::/64')).toBe(true);
  });

  it('keeps neighbours and families apart', () => {
    expect(overlaps('10.6.0.0/24', '10.6.1.0/24')).toBe(false);
    expect(overlaps('0.0.0.0/0', '::/0')).toBe(false);
  });
});

describe('contains', () => {
  it('includes both ends of a block and nothing beyond', () => {
    expect(contains('10.6.0.0/24', '10.6.0.0')).toBe(true);
    expect(contains('10.6.0.0/24', '10.6.0.255')).toBe(true);
    expect(contains('10.6.0.0/24', '10.6.1.0')).toBe(false);
    expect(contains('10.6.0.0/24', 'fd00::1')).toBe(false);
  });

  it('agrees with node:net BlockList on random blocks and addresses', () => {
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const outcomes = new Set<boolean>();
    for (let i = 0; i < 300; i += 1) {
      const v6 = random(2) === 1;
      const prefix = random(v6 ? 129 : 33);
      const base = v6
        ? Array.from({ length: 8 }, () => random(3).toString(16)).join(':')
        : Array.from({ length: 4 }, () => String(random(3))).join('.');
      const list = new BlockList();
      const network = formatAddress({ family: v6 ? 6 : 4, value: parseCidr(`${base}/${prefix}`).network });
      list.addSubnet(network, prefix, v6 ? 'ipv6' : 'ipv4');
      for (let j = 0; j < 20; j += 1) {
        const address = v6
          ? Array.from({ length: 8 }, () => random(3).toString(16)).join(':')
          : Array.from({ length: 4 }, () => String(random(3))).join('.');
        const expected = list.check(address, v6 ? 'ipv6' : 'ipv4');
        expect(contains(`${base}/${prefix}`, address)).toBe(expected);
        outcomes.add(expected);
      }
    }
    expect(outcomes).toEqual(new Set([true, false]));
  });
});

describe('cidrRange', () => {
  it('spans the network to the broadcast address', () => {
    expect(cidrRange('10.6.0.0/30')).toEqual({ first: 0x0a060000n, last: 0x0a060003n });
    expect(cidrRange('fd00::/127')).toEqual({ first: 0xfdn << 120n, last: (0xfdn << 120n) + 1n });
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatAddress, overlaps } from '../../../src/wg/cidr.js';
import { parseDump } from '../../../src/wg/dump.js';
import { findOverlaps, nextFreeAddress } from '../../../src/wg/ipam.js';
import { thrownError } from '../../support/errors.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/wg/${name}`, import.meta.url), 'utf8');

/** The i-th address of 10.6.0.0/16 as a /32. */
const v4 = (i: number) => `${formatAddress({ family: 4, value: 0x0a060000n + BigInt(i) })}/32`;

describe('nextFreeAddress', () => {
  it('hands out the first host after the hub', () => {
    expect(nextFreeAddress({ subnet: '10.6.0.0/24', hubAddress: '10.6.0.1', taken: [] })).toBe('10.6.0.2/32');
  });

  it('fills the lowest gap', () => {
    const taken = ['10.6.0.2/32', '10.6.0.4/32', '10.6.0.3/32', '10.6.0.6/32'];
    expect(nextFreeAddress({ subnet: '10.6.0.0/24', hubAddress: '10.6.0.1/24', taken })).toBe('10.6.0.5/32');
  });

  it('skips the network address when the hub sits elsewhere', () => {
    expect(nextFreeAddress({ subnet: '10.6.0.0/24', hubAddress: '10.6.0.254', taken: [] })).toBe(
      '10.6.0.1/32',
    );
  });

  it('never hands out the broadcast address', () => {
    const err = thrownError(() =>
      nextFreeAddress({ subnet: '10.6.0.0/30', hubAddress: '10.6.0.1', taken: ['10.6.0.2/32'] }),
    );
    expect(err.code).toBe('SUBNET_EXHAUSTED');
  });

  it('uses both addresses of a /31', () => {
    expect(nextFreeAddress({ subnet: '10.6.0.0/31', hubAddress: '10.6.0.0', taken: [] })).toBe('10.6.0.1/32');
  });

  it('skips whole blocks that are routed to a peer', () => {
    const taken = ['10.6.0.0/28', '10.6.0.16/32'];
    expect(nextFreeAddress({ subnet: '10.6.0.0/24', hubAddress: '10.6.0.1', taken })).toBe('10.6.0.17/32');
  });

  it('ignores other families and addresses outside the subnet', () => {
    const taken = ['fd00:6::2/128', '10.7.0.2/32', '128.0.0.0/1'];
    expect(nextFreeAddress({ subnet: '10.6.0.0/24', hubAddress: '10.6.0.1', taken })).toBe('10.6.0.2/32');
  });

  it('accepts bare addresses as taken', () => {
    expect(nextFreeAddress({ subnet: '10.6.0.0/24', hubAddress: '10.6.0.1', taken: ['10.6.0.2'] })).toBe(
      '10.6.0.3/32',
    );
  });

  it('hands out IPv6 addresses as /128', () => {
    const taken = ['fd00:6::2/128', '10.6.0.3/32'];
    expect(nextFreeAddress({ subnet: 'fd00:6::/64', hubAddress: 'fd00:6::1/64', taken })).toBe(
      'fd00:6::3/128',
    );
  });

  it('throws SUBNET_EXHAUSTED naming the subnet when every host is taken', () => {
    const taken = Array.from({ length: 253 }, (_, i) => v4(i + 2));
    const err = thrownError(() => nextFreeAddress({ subnet: '10.6.0.0/24', hubAddress: '10.6.0.1', taken }));
    expect(err.code).toBe('SUBNET_EXHAUSTED');
    expect(err.message).toBe('subnet 10.6.0.0/24 has no free address left');
  });

  it('stays fast with 10,000 taken addresses in any order', () => {
    const taken = Array.from({ length: 10_000 }, (_, i) => v4(i + 2)).reverse();
    taken.splice(4_321, 1);
    const started = performance.now();
    const address = nextFreeAddress({ subnet: '10.6.0.0/16', hubAddress: '10.6.0.1', taken: new Set(taken) });
    expect(performance.now() - started).toBeLessThan(500);
    expect(address).toBe(v4(10_001 - 4_321));
  });

  it('rejects malformed input', () => {
    expect(
      thrownError(() => nextFreeAddress({ subnet: '10.6.0.0/33', hubAddress: '10.6.0.1', taken: [] })).code,
    ).toBe('INPUT_INVALID');
    expect(
      thrownError(() =>
        nextFreeAddress({ subnet: '10.6.0.0/24', hubAddress: '10.6.0.1', taken: ['10.6.0.x'] }),
      ).message,
    ).toBe('taken address "10.6.0.x" is not an IP address or CIDR');
    expect(
      thrownError(() => nextFreeAddress({ subnet: 'fd00:6::/64', hubAddress: '10.6.0.1', taken: [] }))
        .message,
    ).toBe('hub address 10.6.0.1 is not in the family of fd00:6::/64');
  });
});

describe('findOverlaps', () => {
  it('finds nothing among the peers of a real hub', () => {
    const peers = parseDump(fixture('hub.dump')).peers.map((p) => ({
      id: p.publicKey,
      allowedIps: p.allowedIps,
    }));
    expect(findOverlaps(peers)).toEqual([]);
  });

  it('reports a client that claims another client’s address', () => {
    const overlapsFound = findOverlaps([
      { id: 'alice-laptop', allowedIps: ['10.6.0.2/32'] },
      { id: 'bob-phone', allowedIps: ['10.6.0.3/32', 'fd00:6::3/128'] },
      { id: 'mallory-pc', allowedIps: ['10.6.0.2/32'] },
    ]);
    expect(overlapsFound).toEqual([
      { a: 'alice-laptop', cidrA: '10.6.0.2/32', b: 'mallory-pc', cidrB: '10.6.0.2/32' },
    ]);
  });

  it('reports a block that swallows other peers', () => {
    const found = findOverlaps([
      { id: 'office', allowedIps: ['10.6.0.0/24'] },
      { id: 'alice', allowedIps: ['10.6.0.2/32'] },
      { id: 'bob', allowedIps: ['10.6.1.2/32'] },
    ]);
    expect(found).toEqual([{ a: 'office', cidrA: '10.6.0.0/24', b: 'alice', cidrB: '10.6.0.2/32' }]);
  });

  it('ignores a peer overlapping itself and IPv4 against IPv6', () => {
    expect(
      findOverlaps([
        { id: 'router', allowedIps: ['10.20.0.0/16', '10.20.1.0/24'] },
        { id: 'v6', allowedIps: ['::/0'] },
      ]),
    ).toEqual([]);
  });

  it('agrees with a pairwise check on random peers', () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const peers = Array.from({ length: 60 }, (_, i) => ({
      id: `p${i}`,
      allowedIps: Array.from(
        { length: 1 + random(2) },
        () => `10.6.${random(4)}.${random(256)}/${24 + random(9)}`,
      ),
    }));
    const expected: string[] = [];
    peers.forEach((p, i) => {
      for (const q of peers.slice(i + 1)) {
        for (const a of p.allowedIps)
          for (const b of q.allowedIps) if (overlaps(a, b)) expected.push([p.id, q.id].join());
      }
    });
    const found = findOverlaps(peers).map((o) =>
      [o.a, o.b].sort((x, y) => Number(x.slice(1)) - Number(y.slice(1))).join(),
    );
    expect(expected.length).toBeGreaterThan(0);
    expect(found.sort()).toEqual(expected.sort());
  });

  it('stays fast for 10,000 peers and finds the one duplicate', () => {
    const peers = Array.from({ length: 10_000 }, (_, i) => ({ id: `peer-${i}`, allowedIps: [v4(i + 2)] }));
    peers.push({ id: 'late-copy', allowedIps: [v4(5_000)] });
    const started = performance.now();
    const found = findOverlaps(peers);
    expect(performance.now() - started).toBeLessThan(500);
    expect(found).toEqual([{ a: 'peer-4998', cidrA: v4(5_000), b: 'late-copy', cidrB: v4(5_000) }]);
  });

  it('rejects a malformed entry, naming the peer', () => {
    expect(thrownError(() => findOverlaps([{ id: 'alice', allowedIps: ['10.6.0.2/40'] }])).message).toBe(
      'AllowedIPs of alice: "10.6.0.2/40" is not an IP address or CIDR',
    );
  });
});

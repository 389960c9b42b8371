import { describe, expect, it } from 'vitest';
import { RotationRecord } from '../../../src/store/rotations.js';
import { generateKeyPair } from '../../../src/wg/keys.js';
import { allowedIpsOf } from '../../../src/workers/rotate-commit.js';

const rotation = (extra: Record<string, unknown>) =>
  RotationRecord.parse({
    hub: 'hub1',
    peer: 'alice-office-gw',
    owner: 'alice',
    requestId: 'r-abcdef',
    by: 'alice',
    oldPublicKey: generateKeyPair().publicKey,
    newPublicKey: generateKeyPair().publicKey,
    generatedKey: true,
    address: '10.6.0.2/32',
    mode: 'split',
    state: 'staging',
    createdAt: '2026-12-04T20:00:00.000Z',
    ...extra,
  });

describe('allowedIpsOf', () => {
  it("moves an adopted gateway's routes to the new key with its addresses", () => {
    expect(allowedIpsOf(rotation({ address6: 'fd00:6::2/128', routes: ['192.168.50.0/24'] }))).toEqual([
      '10.6.0.2/32',
      'fd00:6::2/128',
      '192.168.50.0/24',
    ]);
    expect(allowedIpsOf(rotation({}))).toEqual(['10.6.0.2/32']);
  });
});

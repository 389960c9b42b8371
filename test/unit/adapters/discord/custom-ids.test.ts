import { describe, expect, it } from 'vitest';
import { decodeCustomId, encodeCustomId } from '../../../../src/adapters/discord/custom-ids.js';
import { PeerName, RequestId, UserId } from '../../../../src/core/ids.js';

describe('button and modal custom ids', () => {
  it('round-trip the request or user they act on', () => {
    const requestId = RequestId.parse('r-7k3m9q');
    for (const id of [
      { action: 'approve', requestId },
      { action: 'deny', requestId },
      { action: 'deny-reason', requestId },
      { action: 'offboard', user: UserId.parse('500000000000000003') },
      { action: 'rotate', peer: PeerName.parse('500000000000000003-laptop') },
    ] as const) {
      expect(decodeCustomId(encodeCustomId(id))).toEqual(id);
    }
    expect(encodeCustomId({ action: 'approve', requestId })).toBe('tg:approve:r-7k3m9q');
    const longest = PeerName.parse(`a${'b'.repeat(88)}`);
    expect(encodeCustomId({ action: 'rotate', peer: longest }).length).toBeLessThanOrEqual(100);
  });

  it('reject ids that are not ours or carry invalid values', () => {
    for (const text of [
      'approve:r-7k3m9q',
      'tg:approve:r-7k3m9q:x',
      'tg:approve:$(id)',
      'tg:nuke:r-7k3m9q',
      'tg:offboard:a b',
      'tg:rotate:../etc',
      'tg:rotate:',
      'tg:toString:x',
    ]) {
      expect(decodeCustomId(text), text).toBeNull();
    }
  });
});

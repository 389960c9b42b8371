import { describe, expect, it } from 'vitest';
import { decodeCustomId, encodeCustomId } from '../../../../adapters/discord/custom-ids.js';
import { RequestId, UserId } from '../../../../core/ids.js';

describe('button and modal custom ids', () => {
  it('round-trip the request or user they act on', () => {
    const requestId = RequestId.parse('r-7k3m9q');
    for (const id of [
      { action: 'approve', requestId },
      { action: 'deny', requestId },
      { action: 'deny-reason', requestId },
      { action: 'offboard', user: UserId.parse('500000000000000003') },
    ] as const) {
      expect(decodeCustomId(encodeCustomId(id))).toEqual(id);
    }
    expect(encodeCustomId({ action: 'approve', requestId })).toBe('tg:approve:r-7k3m9q');
  });

  it('reject ids that are not ours or carry invalid values', () => {
    for (const text of [
      'approve:r-7k3m9q',
      'tg:approve:r-7k3m9q:x',
      'tg:approve:$(id)',
      'tg:nuke:r-7k3m9q',
      'tg:offboard:a b',
    ]) {
      expect(decodeCustomId(text), text).toBeNull();
    }
  });
});

import { describe, expect, it } from 'vitest';
import { firstLinkDelay } from '../../../src/workers/expiry.js';
import { keyStage } from '../../../src/workers/reminders.js';

const DAY = 86_400_000;
const policy = {
  keyMaxAge: 90 * DAY,
  reminderLead: 14 * DAY,
  overdueGrace: 7 * DAY,
  overdueAction: 'notify' as const,
};
const created = '2025-01-01T00:00:00.000Z';
const at = (days: number) => new Date(Date.parse(created) + days * DAY);

describe('keyStage', () => {
  it('is quiet until keyMaxAge - reminderLead, then due, then overdue at keyMaxAge', () => {
    expect(keyStage(created, at(75.9), policy)).toBeNull();
    expect(keyStage(created, at(76), policy)).toBe('due');
    expect(keyStage(created, at(89.9), policy)).toBe('due');
    expect(keyStage(created, at(90), policy)).toBe('overdue');
    expect(keyStage(created, at(400), policy)).toBe('overdue');
  });

  it('reaches revoking after the grace period only with overdueAction revoke', () => {
    const revoke = { ...policy, overdueAction: 'revoke' as const };
    expect(keyStage(created, at(96.9), revoke)).toBe('overdue');
    expect(keyStage(created, at(97), revoke)).toBe('revoking');
  });
});

describe('firstLinkDelay', () => {
  it('runs the first expiry link at the warning time, or at once for access shorter than the warning', () => {
    expect(firstLinkDelay(8 * 3_600_000, 3_600_000)).toBe(7 * 3_600_000);
    expect(firstLinkDelay(30 * 60_000, 3_600_000)).toBe(0);
  });
});

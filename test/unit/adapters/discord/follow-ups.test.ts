import type { RepliableInteraction } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { FOLLOW_UP_WINDOW_MS, FollowUps } from '../../../../src/adapters/discord/follow-ups.js';

const interaction = (userId: string, createdTimestamp: number) =>
  ({ user: { id: userId }, createdTimestamp }) as unknown as RepliableInteraction;

describe('FollowUps', () => {
  it("finds a job's interaction for its user while the token is valid, then stops", () => {
    let now = 1_000_000;
    const followUps = new FollowUps(() => now);
    const bobs = interaction('bob', now);
    followUps.track('job-1', bobs);
    expect(followUps.find('job-1', 'bob')).toBe(bobs);
    expect(followUps.find('job-1', 'alice')).toBeNull();
    expect(followUps.find(undefined, 'bob')).toBeNull();
    now += FOLLOW_UP_WINDOW_MS;
    expect(followUps.find('job-1', 'bob')).toBeNull();
  });

  it('keeps the window under the 15 minutes an interaction token lives', () => {
    expect(FOLLOW_UP_WINDOW_MS).toBeLessThan(15 * 60_000);
  });

  it('forgets a job once its final message went out', () => {
    const followUps = new FollowUps(() => 0);
    followUps.track('job-2', interaction('bob', 0));
    followUps.forget('job-2');
    expect(followUps.find('job-2', 'bob')).toBeNull();
  });
});

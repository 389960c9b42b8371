import { describe, expect, it } from 'vitest';
import { ChannelPacer } from '../../../../src/adapters/slack/channel-pacer.js';

/** A fake clock: sleeping advances it, so pacing is checked without real waiting. */
function fakeClock() {
  let now = 1_000;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    sleeps,
  };
}

describe('ChannelPacer', () => {
  it('spaces posts to one channel by the minimum interval, in order', async () => {
    const clock = fakeClock();
    const pacer = new ChannelPacer({ minIntervalMs: 1_000, now: clock.now, sleep: clock.sleep });
    const starts: Array<[string, number]> = [];
    await Promise.all(
      ['a', 'b', 'c'].map((name) => pacer.run('C1', async () => starts.push([name, clock.now()]))),
    );
    expect(starts).toEqual([
      ['a', 1_000],
      ['b', 2_000],
      ['c', 3_000],
    ]);
  });

  it('does not make other channels wait', async () => {
    const clock = fakeClock();
    const pacer = new ChannelPacer({ minIntervalMs: 1_000, now: clock.now, sleep: clock.sleep });
    await pacer.run('C1', async () => undefined);
    await pacer.run('C2', async () => undefined);
    expect(clock.sleeps).toEqual([]);
  });

  it('keeps the queue going after a failed post and passes the failure to its caller', async () => {
    const clock = fakeClock();
    const pacer = new ChannelPacer({ minIntervalMs: 10, now: clock.now, sleep: clock.sleep });
    const failed = pacer.run('C1', async () => {
      throw new Error('channel_not_found');
    });
    const next = pacer.run('C1', async () => 'posted');
    await expect(failed).rejects.toThrow('channel_not_found');
    await expect(next).resolves.toBe('posted');
  });
});

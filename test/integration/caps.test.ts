import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { handleText } from '../../src/bot/dispatch.js';
import { type Runtime, startRuntime } from '../../src/cli/runtime.js';
import { UserId } from '../../src/core/ids.js';
import { capturedLogger } from '../support/captured-logger.js';
import { useLab } from '../support/lab.js';
import { type Harness, replyOf, startHarness } from '../support/tunnelgate.js';

const lab = useLab({ hubs: 1, clients: 0 });

/** Waits while the current minute has under 10 s left, so a burst stays in one rate window. */
async function awayFromMinuteEnd(): Promise<void> {
  while (Date.now() % 60_000 > 50_000) await sleep(500);
}

lab.describe('caps on what one user can ask for (review findings 4 and 5)', () => {
  let h: Harness;
  let second: Runtime;

  beforeAll(async () => {
    h = await startHarness(lab.get(), 'caps', {
      policy: { maxOpenRequests: 3, commandsPerMinute: 10, maxDuration: '30d' },
    });
    // A second bot process on the same Redis and prefix, as in a deployment with two bots.
    second = await startRuntime({ config: h.config, logger: capturedLogger().logger, worker: false });
  });
  afterAll(async () => {
    await second?.close();
    await h?.stop();
  });

  const pending = async () => (await h.runtime.bot.requests.list({ states: ['pending'] })).length;

  it('refuses a request past policy.maxOpenRequests, even when filed all at once, and stores nothing more', async () => {
    await awayFromMinuteEnd();
    const burst = await Promise.all(
      ['a', 'b', 'c', 'd', 'e'].map((d) => h.run('flooder', `/vpn request dev-${d}`)),
    );
    const accepted = burst.filter((r) => replyOf(r, 'request.pending') !== undefined);
    const refused = burst.map((r) => replyOf(r, 'error')).filter((e) => e !== undefined);
    // The per-user lock makes racing requests wait their turn or fail clearly, never overshoot.
    expect(accepted.length).toBeLessThanOrEqual(3);
    expect(refused.every((e) => e.code === 'CONFLICT')).toBe(true);
    for (const d of ['f', 'g', 'h']) await h.run('flooder', `/vpn request dev-${d}`);
    const mine = await h.runtime.bot.requests.list({ requester: 'flooder' });
    expect(mine).toHaveLength(3);
    // The cap is per user: someone else still gets through.
    expect(replyOf(await h.run('bystander', '/vpn request laptop'), 'request.pending')).toBeDefined();
  });

  it('tells the user the cap and the policy key when the open requests are full', async () => {
    for (const d of ['a', 'b', 'c']) await h.run('capped', `/vpn request dev-${d}`);
    const error = replyOf(await h.run('capped', '/vpn request dev-d'), 'error');
    expect(error?.code).toBe('CONFLICT');
    expect(error?.message).toBe(
      'you have 3 open requests; at most 3 may wait at once (policy.maxOpenRequests)',
    );
  });

  it('refuses --for past policy.maxDuration before anything is stored, and a 100000000d duration at parse time', async () => {
    const before = await pending();
    const tooLong = replyOf(await h.run('dana', '/vpn request laptop --for 31d'), 'error');
    expect(tooLong?.code).toBe('INPUT_INVALID');
    expect(tooLong?.message).toBe('31d is longer than the longest allowed, 30d (policy.maxDuration)');
    const absurd = replyOf(await h.run('dana', '/vpn request laptop --for 100000000d'), 'error');
    expect(absurd?.message).toContain('durations go up to 10 years (3650d)');
    expect(await pending()).toBe(before);
    expect(replyOf(await h.run('dana', '/vpn request laptop --for 30d'), 'request.pending')).toBeDefined();
  });

  it('rate-limits one user past policy.commandsPerMinute, counted across two bot processes, and not others', async () => {
    await awayFromMinuteEnd();
    const viaSecond = (line: string) =>
      handleText(second.bot, { id: UserId.parse('chatty'), platformRoles: [] }, line);
    for (let i = 0; i < 5; i += 1)
      expect(replyOf(await h.run('chatty', '/vpn list'), 'error')).toBeUndefined();
    for (let i = 0; i < 5; i += 1) expect(replyOf(await viaSecond('/vpn list'), 'error')).toBeUndefined();
    const limited = replyOf(await viaSecond('/vpn list'), 'error');
    expect(limited?.code).toBe('CONFLICT');
    expect(limited?.message).toBe('too many commands: at most 10 a minute (policy.commandsPerMinute)');
    expect(replyOf(await h.run('chatty', '/vpn request laptop'), 'error')?.code).toBe('CONFLICT');
    expect(await h.runtime.bot.requests.list({ requester: 'chatty' })).toHaveLength(0);
    expect(replyOf(await h.run('quiet', '/vpn list'), 'error')).toBeUndefined();
  });

  it('never throttles a lead deciding a queue of requests', async () => {
    await awayFromMinuteEnd();
    const ids: string[] = [];
    for (const user of Array.from({ length: 12 }, (_, i) => `u${i}`)) {
      ids.push(replyOf(await h.run(user, '/vpn request phone'), 'request.pending')?.request.id ?? '');
    }
    const denials = await Promise.all(ids.map((id) => h.run('alice', `/vpn deny ${id} not now`)));
    expect(denials.map((r) => replyOf(r, 'error'))).toEqual(ids.map(() => undefined));
  });
});

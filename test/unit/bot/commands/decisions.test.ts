/**
 * The request/approve/deny handlers on a real bot and real Redis, without a lab: what they record
 * and queue, and what they refuse.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Message } from '../../../../src/domain/models/reply.js';
import { type BotOnly, startBotOnly } from '../../../support/bot-only.js';

const KEY = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';

function requestId(messages: Message[]): string {
  for (const m of messages) {
    if (m.reply.kind === 'request.pending' || m.reply.kind === 'request.review') return m.reply.request.id;
  }
  throw new Error(`no request in ${messages.map((m) => m.reply.kind).join(', ')}`);
}

function errorText(messages: Message[]): string {
  const error = messages.find((m) => m.reply.kind === 'error');
  return error?.reply.kind === 'error' ? error.reply.message : '';
}

describe('request, approve and deny handlers', () => {
  let bot: BotOnly;
  beforeEach(async () => {
    bot = await startBotOnly('decisions');
  });
  afterEach(async () => {
    await bot.stop();
  });

  it('queues exactly one provision job when a lead approves a split-tunnel request', async () => {
    const id = requestId(await bot.run('dave', `/vpn request laptop --pubkey ${KEY}`));
    expect(await bot.hubJobs()).toEqual([]);
    const replies = await bot.run('alice', `/vpn approve ${id}`);
    expect(replies.map((m) => m.reply.kind)).toContain('request.approved');
    await bot.run('alice', `/vpn approve ${id}`);
    const jobs = await bot.hubJobs();
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ kind: 'provision', hub: 'hub1', requestId: id });
    expect((await bot.runtime.bot.requests.get(id))?.state).toBe('approved');
  });

  it('refuses self-approval, even by a lead, and queues nothing', async () => {
    const id = requestId(await bot.run('alice', `/vpn request laptop --pubkey ${KEY}`));
    expect(errorText(await bot.run('alice', `/vpn approve ${id}`))).toMatch(/your own/);
    expect(await bot.hubJobs()).toEqual([]);
    expect((await bot.runtime.bot.requests.get(id))?.state).toBe('pending');
  });

  it('refuses an approval by someone who is not a lead', async () => {
    const id = requestId(await bot.run('dave', `/vpn request laptop --pubkey ${KEY}`));
    expect(errorText(await bot.run('carol', `/vpn approve ${id}`))).toMatch(/only leads/);
    expect(await bot.hubJobs()).toEqual([]);
  });

  it('needs two distinct leads for a full tunnel; the same lead twice counts once', async () => {
    const id = requestId(
      await bot.run(
        'dave',
        `/vpn request laptop --full --pubkey ${KEY} --reason "travel to a hostile network"`,
      ),
    );
    await bot.run('alice', `/vpn approve ${id}`);
    await bot.run('alice', `/vpn approve ${id}`);
    expect(await bot.hubJobs()).toEqual([]);
    expect((await bot.runtime.bot.requests.get(id))?.state).toBe('pending');
    await bot.run('bob', `/vpn approve ${id}`);
    expect(await bot.hubJobs()).toHaveLength(1);
  });

  it('records a denial, tells the requester, and refuses a later approval', async () => {
    const id = requestId(await bot.run('dave', `/vpn request laptop --pubkey ${KEY}`));
    const denied = await bot.run('bob', `/vpn deny ${id} not this week`);
    expect(
      denied.some((m) => m.to.type === 'user' && m.to.id === 'dave' && m.reply.kind === 'request.denied'),
    ).toBe(true);
    expect(errorText(await bot.run('alice', `/vpn approve ${id}`))).toMatch(/is denied \(by bob/);
    expect(await bot.hubJobs()).toEqual([]);
    const actions = (await bot.runtime.bot.audit.tail(10)).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['request', 'deny']));
  });

  it('answers an unknown request id clearly', async () => {
    expect(errorText(await bot.run('alice', '/vpn approve r-zzzzzz'))).toMatch(/r-zzzzzz/);
  });
});

/**
 * Handlers that act on an existing peer (revoke, extend and its decision), on a real bot and real
 * Redis without a lab: who may act, what is queued, what is refused.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PeerRecord } from '../../../../src/domain/models/peer.js';
import type { Message } from '../../../../src/domain/models/reply.js';
import { type BotOnly, startBotOnly } from '../../../support/bot-only.js';

const NOW = Date.now();

function record(expiresAt: string | null): PeerRecord {
  return PeerRecord.parse({
    peer: 'dave-laptop',
    owner: 'dave',
    device: 'laptop',
    hub: 'hub1',
    publicKey: 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=',
    address: '10.6.0.2/32',
    mode: 'split',
    requestId: 'r-aaaaaa',
    createdAt: new Date(NOW - 86_400_000).toISOString(),
    expiresAt,
  });
}

function errorText(messages: Message[]): string {
  const error = messages.find((m) => m.reply.kind === 'error');
  return error?.reply.kind === 'error' ? error.reply.message : '';
}

function extensionId(messages: Message[]): string {
  const pending = messages.find((m) => m.reply.kind === 'extension.pending');
  if (pending?.reply.kind !== 'extension.pending') throw new Error('no extension.pending reply');
  return pending.reply.id;
}

describe('peer commands', () => {
  let bot: BotOnly;
  beforeEach(async () => {
    bot = await startBotOnly('peer-commands');
  });
  afterEach(async () => {
    await bot.stop();
  });

  it('lets the owner revoke: one revoke job is queued and audited', async () => {
    await bot.runtime.bot.inventory.put(record(null));
    const replies = await bot.run('dave', '/vpn revoke dave-laptop');
    expect(replies.map((m) => m.reply.kind)).toEqual(['job.queued']);
    expect(await bot.hubJobs()).toEqual([expect.objectContaining({ kind: 'revoke', hub: 'hub1' })]);
    expect((await bot.runtime.bot.audit.tail(1))[0]).toMatchObject({
      action: 'revoke',
      target: 'dave-laptop',
    });
  });

  it('refuses a revoke by someone who is neither the owner nor a lead', async () => {
    await bot.runtime.bot.inventory.put(record(null));
    expect(errorText(await bot.run('carol', '/vpn revoke dave-laptop'))).toBe(
      'only dave or a lead can revoke dave-laptop',
    );
    expect(await bot.hubJobs()).toEqual([]);
  });

  it('names a peer that does not exist', async () => {
    expect(errorText(await bot.run('alice', '/vpn revoke zoe-phone'))).toMatch(/there is no peer zoe-phone/);
  });

  it('refuses to extend permanent access', async () => {
    await bot.runtime.bot.inventory.put(record(null));
    expect(errorText(await bot.run('dave', '/vpn extend dave-laptop 2d'))).toMatch(/permanent access/);
  });

  it('sends an extension through the gate: the asking lead cannot approve it, another lead can', async () => {
    await bot.runtime.bot.inventory.put(record(new Date(NOW + 3_600_000).toISOString()));
    const id = extensionId(await bot.run('alice', '/vpn extend dave-laptop 2d'));
    expect(errorText(await bot.run('alice', `/vpn approve ${id}`))).toMatch(/your own/);
    expect(errorText(await bot.run('dave', `/vpn approve ${id}`))).toMatch(/only leads/);
    const decided = await bot.run('bob', `/vpn approve ${id}`);
    expect(decided.map((m) => m.reply.kind)).toContain('extension.decided');
    const moved = await bot.runtime.bot.inventory.find('hub1', record(null).publicKey);
    expect(Date.parse(moved?.expiresAt ?? '')).toBe(NOW + 3_600_000 + 2 * 86_400_000);
    expect(await bot.hubJobs()).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: 'set-expiry' })]),
    );
  });
});

/**
 * A lead taking over someone's peer with `/vpn rotate <peer> --pubkey <own key>` (review item 1):
 * the supplied key reaches the hub only after the peer's mode's number of other leads approved.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Actor } from '../../src/domain/models/command.js';
import { RotationStore } from '../../src/store/rotations.js';
import { parseDump } from '../../src/wg/dump.js';
import { generateKeyPair } from '../../src/wg/keys.js';
import { useLab } from '../support/lab.js';
import { type Harness, replyOf, startHarness } from '../support/tunnelgate.js';
import { waitUntil } from '../support/wait.js';

const lab = useLab({ hubs: 1, clients: 0 });

lab.describe('key changes by someone but the owner, on a lab hub', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(lab.get(), 'key-change', { leads: ['alice', 'lena', 'mia'] });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const liveKeys = async () =>
    parseDump((await lab.hub().exec(['wg', 'show', 'wg0', 'dump'])).stdout).peers.map(
      (p) => p.publicKey as string,
    );
  const rotations = () => new RotationStore(h.runtime.bot.redis, h.runtime.bot.keys);
  const provision = async (user: string, line: string) => {
    const id = replyOf(await h.run(user, line), 'request.pending')?.request.id ?? '';
    await h.run('alice', `/vpn approve ${id}`);
    if ((await h.runtime.bot.requests.get(id)).state === 'pending') await h.run('lena', `/vpn approve ${id}`);
    await h.waitFor((m) => m.reply.kind === 'peer.provisioned' && m.reply.requestId === id);
  };
  const keyChangeId = (text: string) => /\b(k-[a-z0-9]{6})\b/.exec(text)?.[1] ?? '';

  it('a lead cannot put their own key on a full-tunnel peer without two other leads', async () => {
    await provision('bob', '/vpn request laptop --full --reason travel');
    const thief = generateKeyPair().publicKey;
    const [asked] = await h.run('alice', `/vpn rotate bob-laptop --pubkey ${thief}`);
    const id = keyChangeId(asked?.reply.kind === 'notice' ? asked.reply.text : '');
    expect(id).toMatch(/^k-/);
    expect(await rotations().find('hub1', 'bob-laptop')).toBeNull();
    expect(replyOf(await h.run('alice', `/vpn approve ${id}`), 'error')?.message).toBe(
      'you cannot approve your own key change',
    );
    await h.run('lena', `/vpn approve ${id}`);
    expect(await rotations().find('hub1', 'bob-laptop')).toBeNull();
    expect(await liveKeys()).not.toContain(thief);
    await h.run('mia', `/vpn approve ${id}`);
    await waitUntil('the supplied key staged on the hub', 20_000, async () =>
      (await liveKeys()).includes(thief),
    );
    expect((await rotations().find('hub1', 'bob-laptop'))?.approval?.id).toBe(id);
  });

  it('a denied key change never reaches the hub', async () => {
    await provision('carol', '/vpn request phone');
    const key = generateKeyPair().publicKey;
    const [asked] = await h.run('lena', `/vpn rotate carol-phone --pubkey ${key}`);
    const id = keyChangeId(asked?.reply.kind === 'notice' ? asked.reply.text : '');
    await h.run('mia', `/vpn deny ${id} not yours`);
    expect(replyOf(await h.run('alice', `/vpn approve ${id}`), 'error')?.code).toBe('CONFLICT');
    expect(await rotations().find('hub1', 'carol-phone')).toBeNull();
    expect(await liveKeys()).not.toContain(key);
  });

  it('the worker rolls back a rotation to a supplied key that skipped the gate', async () => {
    await provision('dan', '/vpn request tablet');
    const record = (await h.runtime.bot.inventory.listByOwner(['hub1'], 'dan'))[0];
    if (record === undefined) throw new Error('no peer');
    const key = generateKeyPair().publicKey;
    const lena: Actor = { id: 'lena' as Actor['id'], platformRoles: [] };
    await rotations().create({
      ...record,
      by: lena.id,
      byRoles: [],
      oldPublicKey: record.publicKey,
      newPublicKey: key,
      generatedKey: false,
      state: 'staging',
      createdAt: new Date().toISOString(),
    });
    await h.runtime.bot.queues.addHub({ kind: 'rotate', hub: record.hub, peer: record.peer, round: 0 });
    await waitUntil(
      'the rotation rolled back',
      20_000,
      async () => (await rotations().find('hub1', record.peer)) === null,
    );
    expect(await liveKeys()).not.toContain(key);
    expect(await liveKeys()).toContain(record.publicKey);
  });
});

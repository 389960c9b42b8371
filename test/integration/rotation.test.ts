import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Message } from '../../src/domain/models/reply.js';
import { waitFor } from '../../src/lab/host.js';
import { RotationStore, rotationSealId } from '../../src/store/rotations.js';
import { listPeers, parseWgConf } from '../../src/wg/conf.js';
import { parseDump } from '../../src/wg/dump.js';
import { publicKeyFromPrivate } from '../../src/wg/keys.js';
import { useLab } from '../support/lab.js';
import { type Harness, replyOf, startHarness } from '../support/tunnelgate.js';

const lab = useLab({ hubs: 1, clients: 1 });

lab.describe('zero-downtime key rotation on a lab hub', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness(lab.get(), 'rotation', { policy: { rotationWindow: '60s' } });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const hub = () => lab.hub();
  const client = () => {
    const found = lab.get().clients[0];
    if (found === undefined) throw new Error('no client');
    return found;
  };
  const livePeers = async () => parseDump((await hub().exec(['wg', 'show', 'wg0', 'dump'])).stdout).peers;
  const filePeers = async () => listPeers(parseWgConf(await hub().readFile('/etc/wireguard/wg0.conf')));
  const privateKeyOf = (m: Message) =>
    m.reply.kind === 'peer.config' ? (/^PrivateKey = (\S+)$/m.exec(m.reply.configText)?.[1] ?? '') : '';
  /** The next message matching `predicate` delivered after the first `from` messages. */
  const next = (from: number, predicate: (m: Message) => boolean) =>
    h.waitFor((m) => h.messages.indexOf(m) >= from && predicate(m), 60_000);
  const rotation = (phase: string) => (m: Message) =>
    m.reply.kind === 'peer.rotation' && m.reply.phase === phase;

  let currentKey = '';

  it('rotates the key of a peer pinging every 100 ms, losing at most one ping', async () => {
    const pending = replyOf(await h.run('bob', '/vpn request laptop'), 'request.pending');
    await h.run('alice', `/vpn approve ${pending?.request.id}`);
    const first = await h.waitFor((m) => m.reply.kind === 'peer.config');
    await client().up(first.reply.kind === 'peer.config' ? first.reply.configText : '');
    expect(await client().ping(hub().hubAddress, { count: 2, timeoutSec: 5 })).toBe(true);
    const oldKey = publicKeyFromPrivate(privateKeyOf(first));

    const pinging = client().exec(
      ['ping', '-n', '-q', '-i', '0.1', '-c', '150', '-w', '40', hub().hubAddress],
      {
        timeoutMs: 60_000,
      },
    );
    await sleep(1_000);
    const from = h.messages.length;
    const queued = await h.run('bob', '/vpn rotate bob-laptop');
    expect(queued.map((m) => m.reply.kind)).toEqual(['job.queued']);
    const config = await next(from, (m) => m.reply.kind === 'peer.config');
    expect(config.to).toEqual({ type: 'user', id: 'bob' });
    expect(config.private).toBe(true);
    const text = config.reply.kind === 'peer.config' ? config.reply.configText : '';
    expect(text).toMatch(/^Address = 10\.66\.1\.2\/32$/m);
    expect(text).toMatch(/^AllowedIPs = 10\.66\.1\.0\/24$/m);
    const newPrivate = privateKeyOf(config);
    const newKey = publicKeyFromPrivate(newPrivate);
    expect(newKey).not.toBe(oldKey);

    // Staged: the new key is on the hub without addresses; the old one still carries the traffic.
    const staged = (await livePeers()).find((p) => p.publicKey === newKey);
    expect(staged?.allowedIps).toEqual([]);
    expect((await livePeers()).find((p) => p.publicKey === oldKey)?.allowedIps).toEqual(['10.66.1.2/32']);
    const stagedInFile = (await filePeers()).find((p) => p.publicKey === newKey);
    expect(stagedInFile?.meta?.rotatedFrom).toBe(oldKey);
    expect(stagedInFile?.allowedIps).toEqual([]);

    // The device switches to the new config mid-ping (a fast switch: only the private key changes).
    await sleep(1_000);
    await client().host.writeFile('/etc/wireguard/new.key', `${newPrivate}\n`, 0o600);
    await client().exec(['wg', 'set', 'wg0', 'private-key', '/etc/wireguard/new.key']);

    // The config file is committed before the address moves live: at the cutover the retired key
    // is already out of wg0.conf, and only the new key's final section holds the address.
    const moved = async () =>
      (await livePeers()).some((p) => p.publicKey === newKey && p.allowedIps.length > 0);
    expect(await waitFor(moved, 40_000)).toBe(true);
    const atCutover = await filePeers();
    expect(atCutover.map((p) => [p.publicKey, p.allowedIps])).toEqual([[newKey, ['10.66.1.2/32']]]);

    await next(from, rotation('done'));
    const summary = (await pinging).stdout;
    const [, sent, received] = /(\d+) packets transmitted, (\d+) received/.exec(summary) ?? [];
    expect(Number(sent)).toBeGreaterThanOrEqual(150);
    expect(Number(sent) - Number(received)).toBeLessThanOrEqual(1);

    const live = await livePeers();
    expect(live.map((p) => p.publicKey)).toEqual([newKey]);
    expect(live[0]?.allowedIps).toEqual(['10.66.1.2/32']);
    const inFile = await filePeers();
    expect(inFile.map((p) => p.publicKey)).toEqual([newKey]);
    expect(inFile[0]?.allowedIps).toEqual(['10.66.1.2/32']);
    expect(inFile[0]?.meta).toMatchObject({ peer: 'bob-laptop', owner: 'bob', rotatedFrom: oldKey });

    const record = await h.runtime.bot.inventory.findByName(['hub1'], 'bob-laptop');
    expect(record?.publicKey).toBe(newKey);
    expect(await h.runtime.bot.inventory.find('hub1', oldKey)).toBeNull();
    expect(await h.runtime.bot.redis.hgetall(h.runtime.bot.keys.ipam('hub1'))).toEqual({
      '10.66.1.2/32': newKey,
    });
    expect((await h.runtime.bot.requests.get(pending?.request.id ?? '')).publicKey).toBe(newKey);
    expect(
      await new RotationStore(h.runtime.bot.redis, h.runtime.bot.keys).find('hub1', 'bob-laptop'),
    ).toBeNull();
    expect(
      await h.runtime.bot.redis.exists(h.runtime.bot.keys.sealedKey(rotationSealId('hub1', 'bob-laptop'))),
    ).toBe(0);
    expect(h.log()).not.toContain(newPrivate);
    expect(await client().ping(hub().hubAddress, { count: 2, timeoutSec: 5 })).toBe(true);
    currentKey = newKey;
  });

  it('rolls back a rotation whose new key never connects, and the old key keeps working', async () => {
    h.config.policy.rotationWindow = 4_000;
    const from = h.messages.length;
    await h.run('alice', '/vpn rotate bob-laptop');
    const config = await next(from, (m) => m.reply.kind === 'peer.config');
    expect(config.to).toEqual({ type: 'user', id: 'bob' });
    const unused = publicKeyFromPrivate(privateKeyOf(config));
    expect((await livePeers()).map((p) => p.publicKey).sort()).toEqual([currentKey, unused].sort());

    const rolledBack = await next(from, rotation('rolled-back'));
    expect(rolledBack.to).toEqual({ type: 'user', id: 'bob' });
    // The lead who asked is told too.
    await next(from, (m) => rotation('rolled-back')(m) && m.to.type === 'user' && m.to.id === 'alice');
    const live = await livePeers();
    expect(live.map((p) => p.publicKey)).toEqual([currentKey]);
    expect(live[0]?.allowedIps).toEqual(['10.66.1.2/32']);
    expect((await filePeers()).map((p) => p.publicKey)).toEqual([currentKey]);
    expect((await h.runtime.bot.inventory.findByName(['hub1'], 'bob-laptop'))?.publicKey).toBe(currentKey);
    expect(await client().ping(hub().hubAddress, { count: 2, timeoutSec: 5 })).toBe(true);
  });

  it('refuses a rotation by someone who is neither the owner nor a lead', async () => {
    const replies = await h.run('carol', '/vpn rotate bob-laptop');
    expect(replyOf(replies, 'error')?.code).toBe('FORBIDDEN');
    expect(
      await new RotationStore(h.runtime.bot.redis, h.runtime.bot.keys).find('hub1', 'bob-laptop'),
    ).toBeNull();
  });
});

/**
 * The hub is the authority for what is taken (#13.1): peers made by hand on a lab hub — live only,
 * in the config file only, or both — are never robbed of an address by the bot, whatever Redis
 * says; the allocation skips them and a rotation cutover onto a held address is refused.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Message } from '../../src/domain/models/reply.js';
import { reservedOn } from '../../src/store/reservations.js';
import { listPeers, parseWgConf } from '../../src/wg/conf.js';
import { parseDump } from '../../src/wg/dump.js';
import { findOverlaps } from '../../src/wg/ipam.js';
import { generateKeyPair, publicKeyFromPrivate } from '../../src/wg/keys.js';
import { useLab } from '../support/lab.js';
import { type Harness, replyOf, startHarness } from '../support/tunnelgate.js';
import { waitUntil } from '../support/wait.js';
import { startWorkerProcess, type WorkerProcess, writeConfigFile } from '../support/worker-process.js';

const lab = useLab({ hubs: 1, clients: 1 });
const CONF = '/etc/wireguard/wg0.conf';

lab.describe('hand-made peers on a lab hub keep their addresses', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness(lab.get(), 'hub-authority', { policy: { rotationWindow: '60s' } });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const hub = () => lab.hub();
  const livePeers = async () => parseDump((await hub().exec(['wg', 'show', 'wg0', 'dump'])).stdout).peers;
  const liveIps = async (key: string) => (await livePeers()).find((p) => p.publicKey === key)?.allowedIps;
  const handSet = async (key: string, ips: string) =>
    expect((await hub().exec(['wg', 'set', 'wg0', 'peer', key, 'allowed-ips', ips])).code).toBe(0);
  const handSection = (key: string, ips: string) =>
    `\n# added by hand in an incident\n[Peer]\nPublicKey = ${key}\nAllowedIPs = ${ips}\n`;
  /** Every peer's AllowedIPs on the hub, live and in the config file together, by public key. */
  const holdings = async () => {
    const all = new Map<string, string[]>();
    const add = (key: string, ips: readonly string[]) =>
      all.set(key, [...new Set([...(all.get(key) ?? []), ...ips])]);
    for (const p of await livePeers()) add(p.publicKey, p.allowedIps);
    for (const p of listPeers(parseWgConf(await hub().readFile(CONF)))) add(p.publicKey, p.allowedIps);
    return all;
  };
  const lastOctet = (cidr: string) => Number(/^10\.66\.1\.(\d+)\//.exec(cidr)?.[1] ?? 0);
  const appendByHand = async (text: string) =>
    hub().writeFile(CONF, (await hub().readFile(CONF)) + text, 0o600);

  /** Requests and approves a device for `user`; resolves with the provisioned (or failed) reply. */
  async function approved(user: string, device: string): Promise<Message> {
    const id = replyOf(await h.run(user, `/vpn request ${device}`), 'request.pending')?.request.id ?? '';
    await h.run('alice', `/vpn approve ${id}`);
    return h.waitFor(
      (m) =>
        m.to.type === 'user' &&
        m.to.id === user &&
        (m.reply.kind === 'peer.provisioned' || m.reply.kind === 'peer.failed') &&
        m.reply.requestId === id,
    );
  }
  const addressOf = (m: Message) => (m.reply.kind === 'peer.provisioned' ? m.reply.address : m.reply.kind);

  it('skips an address a peer added by hand holds on the live interface only, and reserves it', async () => {
    expect(addressOf(await approved('bob', 'laptop'))).toBe('10.66.1.2/32');
    const hand = generateKeyPair().publicKey;
    await handSet(hand, '10.66.1.3/32');
    expect(addressOf(await approved('carol', 'laptop'))).toBe('10.66.1.4/32');
    expect(await liveIps(hand)).toEqual(['10.66.1.3/32']);
    expect(await reservedOn(h.runtime.bot.redis, h.runtime.bot.keys, 'hub1')).toEqual([
      { cidr: '10.66.1.3/32', holder: hand },
    ]);
    // Reserved: the next allocation does not even try it again.
    expect(addressOf(await approved('dave', 'laptop'))).toBe('10.66.1.5/32');
    expect(await liveIps(hand)).toEqual(['10.66.1.3/32']);
  });

  it('skips an address held only in the config file, keeping every byte of the hand-written section', async () => {
    const hand = generateKeyPair().publicKey;
    const section = handSection(hand, '10.66.1.6/32');
    await appendByHand(section);
    expect(addressOf(await approved('erin', 'laptop'))).toBe('10.66.1.7/32');
    const conf = await hub().readFile(CONF);
    expect(conf).toContain(section);
    expect(await liveIps(hand)).toBeUndefined();
  });

  it('skips an address held both live and in the file, and a whole block a gateway peer holds', async () => {
    const hand = generateKeyPair().publicKey;
    await appendByHand(handSection(hand, '10.66.1.8/32'));
    await handSet(hand, '10.66.1.8/32');
    const gateway = generateKeyPair().publicKey;
    await handSet(gateway, '10.66.1.9/32,10.66.1.12/30');
    const frank = addressOf(await approved('frank', 'laptop'));
    const gina = addressOf(await approved('gina', 'laptop'));
    const hank = addressOf(await approved('hank', 'laptop'));
    expect([frank, gina, hank]).toEqual(['10.66.1.10/32', '10.66.1.11/32', '10.66.1.16/32']);
    expect(await liveIps(hand)).toEqual(['10.66.1.8/32']);
    expect(await liveIps(gateway)).toEqual(['10.66.1.9/32', '10.66.1.12/30']);
    const refused = (await h.runtime.bot.audit.tail(100)).filter(
      (r) => r.action === 'provision' && r.result === 'refused',
    );
    expect(refused.map((r) => r.detail).join('\n')).toContain(
      `10.66.1.8/32 is held by peer ${hand.slice(0, 8)}… (live and in the config file)`,
    );
  });

  it('refuses a rotation cutover onto an address a hand-made peer took, naming it; the hand-made peer keeps it', async () => {
    const first = await approved('ivan', 'laptop');
    expect(addressOf(first)).toBe('10.66.1.17/32');
    const config = await h.waitFor(
      (m) => m.reply.kind === 'peer.config' && m.to.type === 'user' && m.to.id === 'ivan',
    );
    const client = lab.client();
    await client.up(config.reply.kind === 'peer.config' ? config.reply.configText : '');
    expect(await client.ping(hub().hubAddress, { count: 2, timeoutSec: 5 })).toBe(true);

    const from = h.messages.length;
    await h.run('ivan', '/vpn rotate ivan-laptop');
    const rotated = await h.waitFor(
      (m) => h.messages.indexOf(m) >= from && m.reply.kind === 'peer.config' && m.to.type === 'user',
    );
    const newPrivate =
      rotated.reply.kind === 'peer.config'
        ? (/^PrivateKey = (\S+)$/m.exec(rotated.reply.configText)?.[1] ?? '')
        : '';
    const newKey = publicKeyFromPrivate(newPrivate);
    // A person takes the peer's address by hand while the new key is staged.
    const thief = generateKeyPair().publicKey;
    await handSet(thief, '10.66.1.17/32');
    await client.host.writeFile('/etc/wireguard/new.key', `${newPrivate}\n`, 0o600);
    await client.exec(['wg', 'set', 'wg0', 'private-key', '/etc/wireguard/new.key']);
    const rolledBack = await h.waitFor(
      (m) =>
        h.messages.indexOf(m) >= from && m.reply.kind === 'peer.rotation' && m.reply.phase === 'rolled-back',
      60_000,
    );
    const detail = rolledBack.reply.kind === 'peer.rotation' ? (rolledBack.reply.detail ?? '') : '';
    expect(detail).toContain('10.66.1.17/32 is held by peer');
    expect(detail).toContain(thief.slice(0, 8));
    expect(await liveIps(thief)).toEqual(['10.66.1.17/32']);
    expect(await liveIps(newKey)).toBeUndefined();
    const file = listPeers(parseWgConf(await hub().readFile(CONF)));
    expect(file.some((p) => p.publicKey === newKey)).toBe(false);
    await client.down();
    // The person hands the address back: the next test starts from a hub without overlaps.
    expect((await hub().exec(['wg', 'set', 'wg0', 'peer', thief, 'remove'])).code).toBe(0);
  });

  it('a second bot with an empty Redis, two worker processes and a person racing with wg set: 0 overlaps, every request provisioned once', async () => {
    const before = await holdings();
    expect(findOverlaps([...before].map(([id, allowedIps]) => ({ id, allowedIps })))).toEqual([]);
    const second = await startHarness(lab.get(), 'hub-authority-2', { inProcessWorkers: false });
    const workers: WorkerProcess[] = [];
    try {
      const configPath = writeConfigFile(second.dataDir, second.config);
      workers.push(...(await Promise.all([1, 2].map(() => startWorkerProcess(configPath)))));
      const users = Array.from({ length: 16 }, (_, i) => `racer${i}`);
      const pending = await Promise.all(users.map((u) => second.run(u, '/vpn request laptop')));
      const ids = pending.map((replies) => replyOf(replies, 'request.pending')?.request.id ?? '');
      const settled = () =>
        second.messages.filter(
          (m) =>
            m.to.type === 'user' &&
            (m.reply.kind === 'peer.provisioned' || m.reply.kind === 'peer.failed') &&
            ids.includes(m.reply.requestId ?? ''),
        );
      // The person: during the burst, a few peers by hand just above what the hub holds.
      const byHand: Array<[string, string]> = [];
      const person = (async () => {
        while (byHand.length < 4 && settled().length < ids.length) {
          const top = Math.max(...[...(await holdings()).values()].flat().map(lastOctet));
          const key = generateKeyPair().publicKey;
          const ip = `10.66.1.${top + 3}/32`;
          await handSet(key, ip);
          byHand.push([key, ip]);
          await sleep(100);
        }
      })();
      await Promise.all(ids.map((id) => second.run('alice', `/vpn approve ${id}`)));
      await waitUntil('every request settled', 120_000, () => settled().length >= ids.length);
      await person;

      const after = await holdings();
      const overlaps = findOverlaps([...after].map(([id, allowedIps]) => ({ id, allowedIps })));
      expect(overlaps).toEqual([]);
      // Every request provisioned exactly once, on the hub once, live and in the file.
      expect(settled().map((m) => m.reply.kind)).toEqual(ids.map(() => 'peer.provisioned'));
      expect(
        new Set(settled().map((m) => (m.reply.kind === 'peer.provisioned' ? m.reply.requestId : ''))),
      ).toEqual(new Set(ids));
      const conf = await hub().readFile(CONF);
      for (const id of ids) {
        const request = await second.runtime.bot.requests.get(id);
        expect(request.state).toBe('provisioned');
        expect(conf.split(request.publicKey).length - 1).toBe(1);
        expect(await liveIps(request.publicKey)).toEqual([request.address]);
      }
      // Nobody else lost anything: the first bot's peers and every hand-made one keep their AllowedIPs.
      for (const [key, ips] of before) expect(after.get(key)).toEqual(ips);
      expect(byHand.length).toBeGreaterThan(0);
      for (const [key, ip] of byHand) expect(await liveIps(key)).toEqual([ip]);
      // The second bot's Redis knew none of it: the hub refused and the bot moved on.
      const refused = (await second.runtime.bot.audit.tail(200)).filter((r) => r.result === 'refused');
      expect(refused.length).toBeGreaterThan(0);
    } finally {
      await Promise.all(workers.map((w) => w.stop('SIGKILL')));
      await second.stop();
    }
  });

  it('IPv6 the same: a /128 a hand-made peer holds is skipped and reserved, and it keeps it', async () => {
    const v6 = await startHarness(lab.get(), 'hub-authority-6', { hub: { subnet6: 'fd66:1::/64' } });
    try {
      const hand = generateKeyPair().publicKey;
      await handSet(hand, 'fd66:1:0:0::2/128');
      const id = replyOf(await v6.run('olga', '/vpn request laptop'), 'request.pending')?.request.id ?? '';
      await v6.run('alice', `/vpn approve ${id}`);
      await v6.waitFor((m) => m.reply.kind === 'peer.provisioned' && m.to.type === 'leads');
      const request = await v6.runtime.bot.requests.get(id);
      expect(request.address6).toBe('fd66:1::3/128');
      expect(await liveIps(request.publicKey)).toEqual([request.address, 'fd66:1::3/128']);
      expect(await liveIps(hand)).toEqual(['fd66:1::2/128']);
      const reserved = await reservedOn(v6.runtime.bot.redis, v6.runtime.bot.keys, 'hub1');
      expect(reserved).toContainEqual({ cidr: 'fd66:1::2/128', holder: hand });
    } finally {
      await v6.stop();
    }
  });
});

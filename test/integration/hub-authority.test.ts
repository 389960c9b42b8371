/**
 * The hub is the authority for what is taken (#13.1): peers made by hand on a lab hub — live only,
 * in the config file only, or both — are never robbed of an address by the bot, whatever Redis
 * says; the allocation skips them and a rotation cutover onto a held address is refused.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Message } from '../../src/domain/models/reply.js';
import { reservedOn } from '../../src/store/reservations.js';
import { listPeers, parseWgConf } from '../../src/wg/conf.js';
import { parseDump } from '../../src/wg/dump.js';
import { generateKeyPair, publicKeyFromPrivate } from '../../src/wg/keys.js';
import { useLab } from '../support/lab.js';
import { type Harness, replyOf, startHarness } from '../support/tunnelgate.js';

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
      `10.66.1.12/30 is held by peer ${gateway.slice(0, 8)}`,
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
  });
});

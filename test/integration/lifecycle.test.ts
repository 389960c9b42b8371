import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { listPeers, parseWgConf } from '../../src/wg/conf.js';
import { parseDump } from '../../src/wg/dump.js';
import { useLab } from '../support/lab.js';
import { redisUrl } from '../support/redis.js';
import { type Harness, replyOf, startHarness } from '../support/tunnelgate.js';

const lab = useLab({ hubs: 1, clients: 1 });

lab.describe('peer lifecycle on a lab hub', () => {
  let h: Harness;
  const generatedKeys: string[] = [];

  beforeAll(async () => {
    h = await startHarness(lab.get(), 'lifecycle');
  });
  afterAll(async () => {
    await h?.stop();
  });

  const hub = () => lab.hub();
  const hubPeers = async () => {
    const dump = await hub().exec(['wg', 'show', 'wg0', 'dump']);
    return parseDump(dump.stdout).peers;
  };
  const filePeers = async () => listPeers(parseWgConf(await hub().readFile('/etc/wireguard/wg0.conf')));

  it('provisions an approved request, delivers the config privately, and the client connects through it', async () => {
    const [pending] = await h.run('bob', '/vpn request laptop --reason "first day"');
    const request = pending?.reply.kind === 'request.pending' ? pending.reply.request : undefined;
    expect(request?.state).toBe('pending');
    const review = replyOf(h.messages, 'request.review');
    expect(review?.preview).toMatchObject({
      hub: 'hub1',
      peer: 'bob-laptop',
      mode: 'split',
      address: '10.66.1.2/32',
    });
    expect(h.messages.find((m) => m.reply.kind === 'request.review')?.to).toEqual({ type: 'leads' });

    await h.run('alice', `/vpn approve ${request?.id}`);
    const config = await h.waitFor((m) => m.reply.kind === 'peer.config');
    expect(config.to).toEqual({ type: 'user', id: 'bob' });
    expect(config.private).toBe(true);
    expect(h.messages.filter((m) => m.reply.kind === 'peer.config')).toHaveLength(1);
    const text = config.reply.kind === 'peer.config' ? config.reply.configText : '';
    expect(text).toMatch(/^Address = 10\.66\.1\.2\/32$/m);
    expect(text).toMatch(/^AllowedIPs = 10\.66\.1\.0\/24$/m);
    expect(text).toMatch(/^PersistentKeepalive = 25$/m);
    const privateKey = /^PrivateKey = (\S+)$/m.exec(text)?.[1];
    expect(privateKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    generatedKeys.push(privateKey ?? '');

    const client = lab.get().clients[0];
    await client?.up(text);
    expect(await client?.ping(hub().hubAddress, { count: 2, timeoutSec: 5 })).toBe(true);
    const live = (await hubPeers()).find((p) => p.allowedIps.some((ip) => ip === '10.66.1.2/32'));
    expect(live?.latestHandshake).toBeGreaterThan(0);

    const inFile = (await filePeers()).find((p) => p.meta?.peer === 'bob-laptop');
    expect(inFile?.meta).toMatchObject({
      owner: 'bob',
      device: 'laptop',
      request: request?.id,
      mode: 'split',
    });
    const mode = await hub().exec(['stat', '-c', '%a', '/etc/wireguard/wg0.conf']);
    expect(mode.stdout.trim()).toBe('600');
  });

  it('keeps the peer across wg-quick down and up, because the config file records it', async () => {
    const env = { WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1' };
    expect((await hub().exec(['wg-quick', 'down', 'wg0'], { env })).code).toBe(0);
    expect((await hub().exec(['wg-quick', 'up', 'wg0'], { env })).code).toBe(0);
    expect((await hubPeers()).map((p) => p.allowedIps)).toContainEqual(['10.66.1.2/32']);
    // The restarted hub forgot the session; the client re-handshakes once its packets go
    // unanswered (WireGuard waits keepalive + rekey timeout, ~15 s, before it does).
    let reached = false;
    for (let i = 0; i < 15 && !reached; i++) {
      reached = (await lab.get().clients[0]?.ping(hub().hubAddress, { count: 1, timeoutSec: 2 })) ?? false;
    }
    expect(reached).toBe(true);
  });

  it('lists and shows the peer with its live handshake', async () => {
    await h.run('bob', '/vpn status');
    const status = await h.waitFor((m) => m.reply.kind === 'peer.status');
    const peers = status.reply.kind === 'peer.status' ? status.reply.peers : [];
    expect(peers).toHaveLength(1);
    expect(peers[0]).toMatchObject({ peer: 'bob-laptop', hub: 'hub1', address: '10.66.1.2/32', live: true });
    expect(peers[0]?.handshakeAgeSec).not.toBeNull();
  });

  it('revokes: the peer leaves the interface and the file, its address is freed, and the client is cut off', async () => {
    await h.run('bob', '/vpn revoke bob-laptop');
    await h.waitFor((m) => m.reply.kind === 'peer.revoked');
    expect((await hubPeers()).some((p) => p.allowedIps.some((ip) => ip === '10.66.1.2/32'))).toBe(false);
    expect((await filePeers()).some((p) => p.meta?.peer === 'bob-laptop')).toBe(false);
    expect(await h.runtime.bot.inventory.claimedAddresses('hub1')).toEqual([]);
    expect(await lab.get().clients[0]?.ping(hub().hubAddress, { count: 2, timeoutSec: 2 })).toBe(false);
    await lab.get().clients[0]?.down();
  });

  it('refuses self-approval, non-lead approval and approval of denied or expired requests, changing nothing', async () => {
    const before = await hubPeers();
    const id = (m: typeof h.messages) => replyOf(m, 'request.pending')?.request.id ?? '';
    const bobs = id(await h.run('bob', '/vpn request phone'));
    const own = await h.run('alice', '/vpn request tablet');
    const alices = id(own);

    expect(replyOf(await h.run('alice', `/vpn approve ${alices}`), 'error')?.message).toBe(
      'you cannot approve your own request',
    );
    expect(replyOf(await h.run('carol', `/vpn approve ${bobs}`), 'error')?.message).toBe(
      'only leads can approve requests',
    );
    await h.run('alice', `/vpn deny ${bobs} not needed`);
    const denied = replyOf(await h.run('alice', `/vpn approve ${bobs}`), 'error');
    expect(denied?.code).toBe('CONFLICT');
    expect(denied?.message).toContain('denied');

    await h.runtime.bot.requests.update(alices, (r) => ({
      ok: true,
      request: { ...r, gate: { ...r.gate, until: new Date(Date.now() - 1000).toISOString() } },
    }));
    const expired = replyOf(await h.run('dave', `/vpn approve ${alices}`), 'error');
    expect(expired?.code).toBe('FORBIDDEN');
    h.config.roles.leads.push('dave');
    const late = replyOf(await h.run('dave', `/vpn approve ${alices}`), 'error');
    expect(late?.code).toBe('CONFLICT');
    expect(late?.message).toContain('expired');

    expect((await h.runtime.bot.requests.get(bobs)).state).toBe('denied');
    expect(
      await h.runtime.bot.queues.hubQueue('hub1').getJobCountByTypes('waiting', 'active', 'delayed'),
    ).toBe(0);
    expect(await hubPeers()).toEqual(before);
  });

  it('rejects injection attempts in device names, keys and hub names; hostile reasons stay inert text', async () => {
    const before = await hub().exec(['ls', '/tmp']);
    for (const line of [
      '/vpn request "lap;touch /tmp/pwned"',
      '/vpn request $(touch /tmp/pwned)',
      '/vpn request `touch /tmp/pwned`',
      "/vpn request lap'top",
      '/vpn request laptop --hub "hub1;reboot"',
      '/vpn request laptop --pubkey "$(cat /etc/shadow)"',
      '/vpn request laptop --pubkey AAAA;touch',
    ]) {
      const replies = await h.run('erin', line);
      expect(
        replies.map((m) => m.reply.kind),
        line,
      ).toEqual(['error']);
    }
    const hostile = await h.run('erin', '/vpn request desk --reason "$(touch /tmp/pwned); `id`"');
    const request = replyOf(hostile, 'request.pending')?.request;
    expect(request?.reason).toBe('$(touch /tmp/pwned); `id`');
    await h.run('alice', `/vpn approve ${request?.id}`);
    await h.waitFor((m) => m.reply.kind === 'peer.provisioned' && m.reply.requestId === request?.id);
    const config = await h.waitFor(
      (m) => m.reply.kind === 'peer.config' && m.reply.requestId === request?.id,
    );
    if (config.reply.kind === 'peer.config')
      generatedKeys.push(/^PrivateKey = (\S+)$/m.exec(config.reply.configText)?.[1] ?? '');
    expect((await hub().exec(['ls', '/tmp'])).stdout).toBe(before.stdout);
  });

  it('never stores or logs a generated private key in plaintext', async () => {
    expect(generatedKeys.filter((k) => k.length === 44)).toHaveLength(2);
    const redis = new Redis(redisUrl());
    try {
      const keys = await redis.keys(`${h.prefix}*`);
      expect(keys.length).toBeGreaterThan(10);
      const dump: string[] = [];
      for (const key of keys) {
        const type = await redis.type(key);
        if (type === 'string') dump.push((await redis.get(key)) ?? '');
        else if (type === 'hash') dump.push(JSON.stringify(await redis.hgetall(key)));
        else if (type === 'list') dump.push(JSON.stringify(await redis.lrange(key, 0, -1)));
        else if (type === 'set') dump.push(JSON.stringify(await redis.smembers(key)));
        else if (type === 'zset') dump.push(JSON.stringify(await redis.zrange(key, '0', '-1')));
        else if (type === 'stream') dump.push(JSON.stringify(await redis.xrange(key, '-', '+')));
      }
      const everything = dump.join('\n') + h.log();
      expect(h.log().length).toBeGreaterThan(0);
      for (const key of generatedKeys) {
        expect(everything).not.toContain(key);
        expect(everything).not.toContain(key.slice(0, 20));
      }
    } finally {
      redis.disconnect();
    }
  });
});

/**
 * Hand-made peers on a real lab hub (issue 13): reconcile reports foreign, missing and
 * overlapping peers and reserves foreign addresses; previews warn about the drift; leads adopt a
 * peer by key prefix (its section tagged, every other byte kept); its new owner revokes it and the
 * file is what it was before adoption minus that section. Bad adoptions change nothing.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runHubAdopt } from '../../src/cli/adopt.js';
import type { Message } from '../../src/domain/models/reply.js';
import { labConfig } from '../../src/lab/config.js';
import { HubJob } from '../../src/queue/jobs.js';
import { reservedOn } from '../../src/store/reservations.js';
import { listPeers, parseWgConf, removePeer, renderWgConf } from '../../src/wg/conf.js';
import { parseDump } from '../../src/wg/dump.js';
import { generateKeyPair } from '../../src/wg/keys.js';
import { capturedLogger } from '../support/captured-logger.js';
import { useLab } from '../support/lab.js';
import { freshPrefix, redisUrl } from '../support/redis.js';
import { type Harness, replyOf, startHarness } from '../support/tunnelgate.js';

const lab = useLab({ hubs: 1, clients: 0 });
const CONF = '/etc/wireguard/wg0.conf';

/** Two public keys sharing their first 8 base64 characters (6 bytes). */
function twinKeys(): [string, string] {
  const a = randomBytes(32);
  const b = randomBytes(32);
  a.copy(b, 0, 0, 6);
  return [a.toString('base64'), b.toString('base64')];
}

lab.describe('hand-made peers: reconcile sees them, leads adopt them, owners revoke them', () => {
  let h: Harness;
  const gateway = generateKeyPair().publicKey as string;
  const printer = generateKeyPair().publicKey as string;
  const [lab1, lab2] = twinKeys();
  let quinnKey = '';
  let ritaKey = '';

  beforeAll(async () => {
    h = await startHarness(lab.get(), 'adopt', { leads: ['lena'] });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const hub = () => lab.hub();
  const file = () => hub().readFile(CONF);
  const live = async () =>
    parseDump((await hub().exec(['wg', 'show', 'wg0', 'dump'])).stdout)
      .peers.map((p) => `${p.publicKey} ${p.allowedIps.join(',')}`)
      .sort();
  const wg = (...args: string[]) => hub().exec(['wg', 'set', 'wg0', 'peer', ...args]);
  /** Runs a line that queues a job and waits for the job's final message. */
  const job = async (user: string, line: string): Promise<Message> => {
    const replies = await h.run(user, line);
    const jobId = replyOf(replies, 'job.queued')?.jobId;
    if (jobId === undefined) throw new Error(`${line}: ${JSON.stringify(replies.map((m) => m.reply))}`);
    return h.waitFor((m) => m.jobId === jobId && m.final === true);
  };
  const adoptJob = async (
    entries: { keyPrefix: string; owner: string; device: string }[],
    dryRun = false,
  ) => {
    const jobId = await h.runtime.bot.queues.addHub(
      HubJob.parse({ kind: 'adopt', hub: 'hub1', by: 'lena', entries, dryRun }),
    );
    return h.waitFor((m) => m.jobId === jobId && m.final === true);
  };
  const errorOf = (m: Message) =>
    m.reply.kind === 'error' ? m.reply.message : `not an error: ${m.reply.kind}`;
  const provision = async (user: string) => {
    const id = replyOf(await h.run(user, '/vpn request laptop'), 'request.pending')?.request.id ?? '';
    await h.run('lena', `/vpn approve ${id}`);
    await h.waitFor((m) => m.reply.kind === 'peer.provisioned' && m.reply.requestId === id);
    return (await h.runtime.bot.requests.get(id)).publicKey as string;
  };

  it('reconcile reports foreign, missing and overlapping peers, reserves foreign addresses, and previews warn', async () => {
    quinnKey = await provision('quinn');
    ritaKey = await provision('rita');
    // By hand: rita's section deleted from the file, quinn removed live, a gateway (live and in the
    // file), a printer (file only) and two lab boxes (live only) whose routes overlap.
    const edited = renderWgConf(removePeer(parseWgConf(await file()), ritaKey));
    await hub().writeFile(
      CONF,
      `${edited}
# office gateway, set up by hand (OPS-12)
[Peer]
PublicKey = ${gateway}
AllowedIPs = 10.66.1.50/32, 192.168.50.0/24
# the LAN behind it
Endpoint = 203.0.113.9:51820

# printer, never went live
[Peer]
PublicKey = ${printer}
AllowedIPs = 10.66.1.51/32
`,
    );
    await wg(gateway, 'allowed-ips', '10.66.1.50/32,192.168.50.0/24', 'endpoint', '203.0.113.9:51820');
    await wg(lab1, 'allowed-ips', '10.66.1.52/32,192.168.60.0/24');
    await wg(lab2, 'allowed-ips', '10.66.1.53/32,192.168.60.128/25');
    await wg(quinnKey, 'remove');

    expect(replyOf(await h.run('bob', '/vpn reconcile hub1'), 'error')?.code).toBe('FORBIDDEN');
    const report = (await job('lena', '/vpn reconcile hub1')).reply;
    if (report.kind !== 'reconcile.report') throw new Error(report.kind);
    expect(report.inSync).toBe(false);
    const foreign = new Map(
      report.findings.flatMap((f) => (f.foreign === undefined ? [] : [[f.publicKey, f.foreign]])),
    );
    expect(Object.fromEntries([...foreign].map(([key, f]) => [key, f.where]))).toEqual({
      [gateway]: 'both',
      [printer]: 'file',
      [lab1]: 'live',
      [lab2]: 'live',
    });
    expect(foreign.get(gateway)).toEqual({
      shortKey: `${gateway.slice(0, 8)}…`,
      allowedIps: ['10.66.1.50/32', '192.168.50.0/24'],
      endpoint: '203.0.113.9:51820',
      latestHandshake: null,
      where: 'both',
    });
    const of = (type: string) => report.findings.filter((f) => f.type === type);
    expect(of('missing-live').map((f) => f.peer)).toEqual(['quinn-laptop']);
    expect(of('missing-file').map((f) => f.peer)).toEqual(['rita-laptop']);
    const overlaps = of('overlap').map((f) => f.overlap);
    expect(overlaps).toHaveLength(1);
    expect(new Set([overlaps[0]?.a, overlaps[0]?.b])).toEqual(
      new Set([`foreign ${lab1.slice(0, 8)}…`, `foreign ${lab2.slice(0, 8)}…`]),
    );
    expect(new Set([overlaps[0]?.cidrA, overlaps[0]?.cidrB])).toEqual(
      new Set(['192.168.60.0/24', '192.168.60.128/25']),
    );

    const reserved = await reservedOn(h.runtime.bot.redis, h.runtime.bot.keys, 'hub1');
    expect(reserved).toEqual(
      expect.arrayContaining([
        { cidr: '10.66.1.50/32', holder: gateway },
        { cidr: '192.168.50.0/24', holder: gateway },
        { cidr: '10.66.1.51/32', holder: printer },
        { cidr: '10.66.1.52/32', holder: lab1 },
        { cidr: '192.168.60.128/25', holder: lab2 },
      ]),
    );

    const pending = replyOf(await h.run('bob', '/vpn request phone'), 'request.pending');
    expect(pending?.preview.drift?.foreign.sort()).toEqual(
      [gateway, printer, lab1, lab2].map((k) => `${k.slice(0, 8)}…`).sort(),
    );
    expect(pending?.preview.drift?.overlaps).toHaveLength(1);
    const review = h.messages.find(
      (m) => m.reply.kind === 'request.review' && m.reply.request.id === pending?.request.id,
    );
    expect(review?.reply.kind === 'request.review' && review.reply.preview.drift?.hub).toBe('hub1');
  });

  it('refuses unknown, ambiguous, managed and overlapping prefixes and bad owner lists, changing nothing', async () => {
    const [fileBefore, liveBefore] = [await file(), await live()];
    const inventoryBefore = (await h.runtime.bot.inventory.list('hub1')).map((r) => r.peer).sort();
    const adopt = (prefix: string, owner = 'alice', device = 'office-gw') =>
      job('lena', `/vpn adopt hub1 ${prefix} --owner ${owner} --name ${device}`);

    expect(
      replyOf(await h.run('bob', `/vpn adopt hub1 ${gateway.slice(0, 10)} --owner bob --name gw`), 'error')
        ?.code,
    ).toBe('FORBIDDEN');
    let unknown = generateKeyPair().publicKey.slice(0, 10);
    while ([gateway, printer, lab1, lab2, quinnKey, ritaKey].some((k) => k.startsWith(unknown)))
      unknown = generateKeyPair().publicKey.slice(0, 10);
    expect(errorOf(await adopt(unknown))).toMatch(`key prefix ${unknown} matches no peer on hub hub1`);
    expect(errorOf(await adopt(lab1.slice(0, 8)))).toMatch(
      `key prefix ${lab1.slice(0, 8)} matches 2 foreign peers`,
    );
    expect(errorOf(await adopt(quinnKey.slice(0, 10)))).toMatch(
      'names quinn-laptop, which Tunnelgate already manages',
    );
    expect(errorOf(await adopt(lab1.slice(0, 12)))).toMatch(
      new RegExp(
        `overlaps 192\\.168\\.60\\.128/25 held by foreign ${lab2.slice(0, 8).replace(/[+/]/g, '\\$&')}…`,
      ),
    );
    const g = { keyPrefix: gateway.slice(0, 10), owner: 'alice', device: 'office-gw' };
    const p = { keyPrefix: printer.slice(0, 10), owner: 'alice', device: 'office-gw' };
    expect(errorOf(await adoptJob([g, { ...p, keyPrefix: unknown }]))).toMatch(
      /^nothing was adopted on hub hub1: key prefix \S+ matches no peer/,
    );
    expect(errorOf(await adoptJob([g, p]))).toMatch('the peer name alice-office-gw is given twice');
    expect(errorOf(await adoptJob([{ ...g, owner: 'quinn', device: 'laptop' }]))).toMatch(
      'the peer name quinn-laptop is already taken',
    );
    const dry = (await adoptJob([g, { ...p, device: 'printer' }], true)).reply;
    expect(dry.kind === 'adopt.report' && dry.dryRun).toBe(true);
    expect(dry.kind === 'adopt.report' && dry.peers.map((x) => `${x.peer} ${x.address} ${x.where}`)).toEqual([
      'alice-office-gw 10.66.1.50/32 both',
      'alice-printer 10.66.1.51/32 file',
    ]);

    expect(await file()).toBe(fileBefore);
    expect(await live()).toEqual(liveBefore);
    expect((await h.runtime.bot.inventory.list('hub1')).map((r) => r.peer).sort()).toEqual(inventoryBefore);
  });

  it('adopts a peer by prefix, its new owner revokes it, and the file is as before minus that section', async () => {
    const before = await file();
    const liveGateway = (await live()).find((l) => l.startsWith(gateway));
    const done = (await job('lena', `/vpn adopt hub1 ${gateway.slice(0, 10)} --owner alice --name office-gw`))
      .reply;
    expect(done.kind === 'adopt.report' && done.peers).toEqual([
      {
        peer: 'alice-office-gw',
        owner: 'alice',
        publicKey: gateway,
        address: '10.66.1.50/32',
        allowedIps: ['10.66.1.50/32', '192.168.50.0/24'],
        where: 'both',
      },
    ]);
    const adopted = await file();
    const metaLine = adopted.split('\n').find((l) => l.includes('"peer":"alice-office-gw"')) ?? '';
    expect(adopted).toBe(
      before.replace(`[Peer]\nPublicKey = ${gateway}`, `[Peer]\n${metaLine}\nPublicKey = ${gateway}`),
    );
    const section = listPeers(parseWgConf(adopted)).find((peer) => peer.publicKey === gateway);
    expect(section?.meta).toMatchObject({
      owner: 'alice',
      device: 'office-gw',
      expires: null,
      mode: 'split',
    });
    expect((await live()).find((l) => l.startsWith(gateway))).toBe(liveGateway);

    const record = await h.runtime.bot.inventory.findByName(['hub1'], 'alice-office-gw');
    expect(record).toMatchObject({
      owner: 'alice',
      address: '10.66.1.50/32',
      routes: ['192.168.50.0/24'],
      expiresAt: null,
      createdAt: section?.meta?.created,
      requestId: section?.meta?.request,
    });
    const request = await h.runtime.bot.requests.get(record?.requestId ?? '');
    expect(request.state).toBe('provisioned');
    expect(request.history.map((e) => `${e.by} ${e.event}`)).toEqual(['lena adopted']);
    const reserved = await reservedOn(h.runtime.bot.redis, h.runtime.bot.keys, 'hub1');
    expect(reserved.filter((r) => r.holder === gateway)).toEqual([]);
    const preview = replyOf(await h.run('dora', '/vpn request laptop'), 'request.pending')?.preview;
    expect(preview?.drift?.foreign).not.toContain(`${gateway.slice(0, 8)}…`);
    expect(preview?.drift?.foreign).toContain(`${printer.slice(0, 8)}…`);
    expect(
      errorOf(await job('lena', `/vpn adopt hub1 ${gateway.slice(0, 10)} --owner bob --name gw`)),
    ).toMatch('names alice-office-gw, which Tunnelgate already manages');
    const listed = replyOf(await h.run('alice', '/vpn list'), 'job.queued')?.jobId;
    const mine = await h.waitFor((m) => m.jobId === listed && m.final === true);
    expect(mine.reply.kind === 'peer.list' && mine.reply.peers.map((x) => x.peer)).toEqual([
      'alice-office-gw',
    ]);
    const log = replyOf(await h.run('lena', '/vpn log 50'), 'audit.log');
    expect(log?.entries.some((e) => e.actor === 'lena' && e.action === 'adopt' && e.result === 'ok')).toBe(
      true,
    );

    const revoked = await job('alice', '/vpn revoke alice-office-gw');
    expect(revoked.reply.kind).toBe('peer.revoked');
    expect(await file()).toBe(renderWgConf(removePeer(parseWgConf(before), gateway)));
    expect((await live()).some((l) => l.startsWith(gateway))).toBe(false);
  });

  it('frees the reservation of a foreign peer removed by hand, and adopts a live-only peer into the file', async () => {
    await hub().writeFile(CONF, renderWgConf(removePeer(parseWgConf(await file()), printer)));
    await wg(lab2, 'remove');
    const report = (await job('lena', '/vpn reconcile hub1')).reply;
    expect(
      report.kind === 'reconcile.report' &&
        report.findings.filter((f) => f.type === 'foreign').map((f) => f.publicKey),
    ).toEqual([lab1]);
    const holders = new Set(
      (await reservedOn(h.runtime.bot.redis, h.runtime.bot.keys, 'hub1')).map((r) => r.holder),
    );
    expect(holders).toEqual(new Set([lab1]));

    const before = await file();
    const done = (await job('lena', `/vpn adopt hub1 ${lab1} --owner carol --name lab`)).reply;
    expect(done.kind === 'adopt.report' && done.peers.map((x) => `${x.peer} ${x.where}`)).toEqual([
      'carol-lab live',
    ]);
    const section = listPeers(parseWgConf(await file())).find((peer) => peer.publicKey === lab1);
    expect(section?.allowedIps).toEqual(['10.66.1.52/32', '192.168.60.0/24']);
    expect(section?.meta?.owner).toBe('carol');
    expect((await file()).startsWith(before)).toBe(true);
    expect((await job('carol', '/vpn revoke carol-lab')).reply.kind).toBe('peer.revoked');
    expect(await file()).toBe(before);
  });
  it('tunnelgate hub adopt: a dry run and a bad owners file change nothing, then the file adopts all', async () => {
    const fresh = freshPrefix('adopt-cli');
    const dataDir = mkdtempSync(join(tmpdir(), 'tg-adopt-cli-'));
    const config = labConfig(lab.get(), {
      redisUrl: redisUrl(),
      prefix: fresh.prefix,
      dataDir,
      leads: ['lena'],
    });
    const { logger } = capturedLogger();
    const [camera, sensor] = [generateKeyPair().publicKey as string, generateKeyPair().publicKey as string];
    try {
      await wg(camera, 'allowed-ips', '10.66.1.60/32');
      await wg(sensor, 'allowed-ips', '10.66.1.61/32');
      const owners = join(dataDir, 'owners.txt');
      const cli = (lines: string, dryRun = false, as = 'lena') => {
        writeFileSync(owners, lines);
        return runHubAdopt(config, logger, { hub: 'hub1', owners, as, dryRun, json: true });
      };
      const [fileBefore, liveBefore] = [await file(), await live()];
      const good = `# from the wiki\n${camera.slice(0, 10)} dora camera\n${sensor.slice(0, 10)} dora sensor\n`;
      expect(await cli(good, true)).toBe(0);
      expect(await cli(`${camera.slice(0, 10)} dora camera\nZZZZZZZZZZ dora sensor\n`)).toBe(1);
      expect(await cli(good, false, 'bob')).toBe(1);
      await expect(
        cli(`${camera.slice(0, 10)} dora camera\n${sensor.slice(0, 10)} dora camera\n`),
      ).rejects.toThrow('the peer name dora-camera is also on line 1');
      expect(await file()).toBe(fileBefore);
      expect(await live()).toEqual(liveBefore);

      expect(await cli(good)).toBe(0);
      const adopted = listPeers(parseWgConf(await file())).filter(
        (p) => p.publicKey === camera || p.publicKey === sensor,
      );
      expect(adopted.map((p) => p.meta?.peer)).toEqual(['dora-camera', 'dora-sensor']);
      expect((await file()).startsWith(fileBefore)).toBe(true);
    } finally {
      await wg(camera, 'remove');
      await wg(sensor, 'remove');
      await hub()
        .writeFile(CONF, renderWgConf(removePeer(removePeer(parseWgConf(await file()), camera), sensor)))
        .catch(() => undefined);
      await fresh.cleanup();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
  it('a worker starting reconciles every hub, and the leads hear of the drift', async () => {
    await h.runtime.bot.queues.reconcileNow();
    const report = await h.waitFor(
      (m) => m.reply.kind === 'reconcile.report' && (m.jobId ?? '').startsWith('reconcile-start-hub1-'),
    );
    expect(report.to).toEqual({ type: 'leads' });
    expect(report.reply.kind === 'reconcile.report' && report.reply.findings.map((f) => f.peer)).toEqual(
      expect.arrayContaining(['quinn-laptop', 'rita-laptop']),
    );
  });
});

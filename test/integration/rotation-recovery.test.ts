/**
 * Key rotation between the move and the commit, on a lab hub with real worker processes: the
 * retired key must never come back, whether the hub's interface restarts (wg-quick down/up) or the
 * worker dies in that window, and a commit that cannot finish is reported with what the hub holds.
 * `slowWgSet` holds the hub's `wg set` for a few seconds, so each fault lands inside the window.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Message } from '../../src/domain/models/reply.js';
import { readOnlyWgConfigDir, slowWgSet, stopWireGuard, type Undo } from '../../src/lab/faults.js';
import { waitFor } from '../../src/lab/host.js';
import { HUB_WG_CONFIG } from '../../src/lab/hub.js';
import { RotationStore } from '../../src/store/rotations.js';
import { listPeers, parseWgConf } from '../../src/wg/conf.js';
import { parseDump } from '../../src/wg/dump.js';
import { publicKeyFromPrivate } from '../../src/wg/keys.js';
import { useLab } from '../support/lab.js';
import { type Harness, replyOf, startHarness } from '../support/tunnelgate.js';
import { startWorkerProcess, type WorkerProcess, writeConfigFile } from '../support/worker-process.js';

const lab = useLab({ hubs: 1, clients: 1 });
const ADDRESS = '10.66.1.2/32';

lab.describe('key rotation between move and commit, on a lab hub', () => {
  let h: Harness;
  let configPath = '';
  let worker: WorkerProcess | undefined;
  const undo: Undo[] = [];

  beforeAll(async () => {
    h = await startHarness(lab.get(), 'rotation-recovery', {
      inProcessWorkers: false,
      policy: { rotationWindow: '10m' },
      worker: { lockDuration: '5s', stalledInterval: '2s', attempts: 2, backoff: '1s' },
    });
    configPath = writeConfigFile(h.dataDir, h.config);
    worker = await startWorkerProcess(configPath);
    const pending = replyOf(await h.run('bob', '/vpn request laptop'), 'request.pending');
    await h.run('alice', `/vpn approve ${pending?.request.id}`);
    const first = await h.waitFor((m) => m.reply.kind === 'peer.config');
    await lab.client().up(first.reply.kind === 'peer.config' ? first.reply.configText : '');
  });
  afterEach(async () => {
    for (const step of undo.splice(0).reverse()) await step();
  });
  afterAll(async () => {
    await worker?.stop('SIGKILL');
    await h?.stop();
  });

  const hub = () => lab.hub();
  const livePeers = async () => parseDump((await hub().exec(['wg', 'show', 'wg0', 'dump'])).stdout).peers;
  const filePeers = async () => listPeers(parseWgConf(await hub().readFile(HUB_WG_CONFIG)));
  const keysIn = (peers: readonly { publicKey: string; allowedIps: readonly string[] }[]) =>
    peers.map((p) => `${p.publicKey} ${p.allowedIps.join(',')}`);
  const after = (from: number, predicate: (m: Message) => boolean) =>
    h.waitFor((m) => h.messages.indexOf(m) >= from && predicate(m), 60_000);
  const phase = (name: string) => (m: Message) => m.reply.kind === 'peer.rotation' && m.reply.phase === name;
  const rotations = () => new RotationStore(h.runtime.bot.redis, h.runtime.bot.keys);

  /** Starts a rotation of bob-laptop with a generated key; resolves once it is staged. */
  async function stageRotation() {
    const from = h.messages.length;
    const oldKey = (await h.runtime.bot.inventory.findByName(['hub1'], 'bob-laptop'))?.publicKey ?? '';
    await h.run('bob', '/vpn rotate bob-laptop');
    const config = await after(from, (m) => m.reply.kind === 'peer.config');
    await after(from, phase('staged'));
    const text = config.reply.kind === 'peer.config' ? config.reply.configText : '';
    const privateKey = /^PrivateKey = (\S+)$/m.exec(text)?.[1] ?? '';
    return { from, oldKey, newKey: publicKeyFromPrivate(privateKey), privateKey };
  }

  /** The device switches to the new key (only the private key changes). */
  async function switchClient(privateKey: string) {
    await lab.client().host.writeFile('/etc/wireguard/new.key', `${privateKey}\n`, 0o600);
    await lab.client().exec(['wg', 'set', 'wg0', 'private-key', '/etc/wireguard/new.key']);
    // Traffic makes the client handshake with its new key at once.
    void lab.client().ping(hub().hubAddress, { count: 1, timeoutSec: 3 });
  }

  const holdsAddress = (key: string) => async () =>
    (await livePeers()).some((p) => p.publicKey === key && p.allowedIps.some((ip) => ip === ADDRESS));

  it('a hub restart (wg-quick down/up) right after the move brings up the new key only, never the retired one', async () => {
    const { from, oldKey, newKey, privateKey } = await stageRotation();
    undo.push(await slowWgSet(hub(), 4));
    await switchClient(privateKey);
    expect(await waitFor(holdsAddress(newKey), 60_000)).toBe(true);

    const up = await stopWireGuard(hub());
    await up();
    expect(keysIn(await livePeers())).toEqual([`${newKey} ${ADDRESS}`]);
    expect(keysIn(await filePeers())).toEqual([`${newKey} ${ADDRESS}`]);

    await after(from, phase('done'));
    expect(keysIn(await livePeers())).toEqual([`${newKey} ${ADDRESS}`]);
    expect(keysIn(await filePeers())).toEqual([`${newKey} ${ADDRESS}`]);
    expect((await filePeers())[0]?.meta?.rotatedFrom).toBe(oldKey);
    expect((await h.runtime.bot.inventory.findByName(['hub1'], 'bob-laptop'))?.publicKey).toBe(newKey);
    // The restarted hub forgot the session: the client handshakes again once its own sends go
    // unanswered (WireGuard's rekey timeout, ~15 s), so this ping may wait that long for replies.
    expect(await lab.client().ping(hub().hubAddress, { count: 2, timeoutSec: 40 })).toBe(true);
  });

  it('shows the rotation in /vpn status while it is not done', async () => {
    const { from, newKey } = await stageRotation();
    await h.run('bob', '/vpn status bob-laptop');
    const status = await after(from, (m) => m.reply.kind === 'peer.status');
    const view = status.reply.kind === 'peer.status' ? status.reply.peers[0] : undefined;
    expect(view?.rotation).toMatchObject({ state: 'staged', newPublicKey: newKey });
    expect(view?.rotation?.deadline).toMatch(/^\d{4}-/);
    // Left staged for the next test, which switches the client to this key.
  });

  it('a worker killed between the move and the commit leaves the retired key out of wg0.conf, and the next worker finishes', async () => {
    const rotation = await rotations().find('hub1', 'bob-laptop');
    expect(rotation?.state).toBe('staged');
    const { oldPublicKey: oldKey, newPublicKey: newKey } = rotation ?? { oldPublicKey: '', newPublicKey: '' };
    const config = h.messages.findLast((m) => m.reply.kind === 'peer.config');
    const text = config?.reply.kind === 'peer.config' ? config.reply.configText : '';
    const privateKey = /^PrivateKey = (\S+)$/m.exec(text)?.[1] ?? '';
    expect(publicKeyFromPrivate(privateKey)).toBe(newKey);
    const from = h.messages.length;

    const undoSlow = await slowWgSet(hub(), 8);
    undo.push(undoSlow);
    await switchClient(privateKey);
    expect(await waitFor(holdsAddress(newKey), 60_000)).toBe(true);
    await worker?.stop('SIGKILL');

    // Between move and commit: the inventory still names the old key, yet the hub holds only the new one.
    expect((await rotations().find('hub1', 'bob-laptop'))?.newPublicKey).toBe(newKey);
    expect((await h.runtime.bot.inventory.findByName(['hub1'], 'bob-laptop'))?.publicKey).toBe(oldKey);
    expect(keysIn(await filePeers())).toEqual([`${newKey} ${ADDRESS}`]);
    expect((await livePeers()).map((p) => p.publicKey)).toEqual([newKey]);

    await undoSlow();
    worker = await startWorkerProcess(configPath);
    await after(from, phase('done'));
    // The record goes right after the message (a crash in between re-sends rather than loses it).
    expect(await waitFor(async () => (await rotations().find('hub1', 'bob-laptop')) === null, 10_000)).toBe(
      true,
    );
    expect((await h.runtime.bot.inventory.findByName(['hub1'], 'bob-laptop'))?.publicKey).toBe(newKey);
    expect(await h.runtime.bot.inventory.find('hub1', oldKey)).toBeNull();
    expect(keysIn(await livePeers())).toEqual([`${newKey} ${ADDRESS}`]);
    expect(keysIn(await filePeers())).toEqual([`${newKey} ${ADDRESS}`]);
    expect(await lab.client().ping(hub().hubAddress, { count: 2, timeoutSec: 5 })).toBe(true);
  });

  it('reports a commit that cannot finish to the owner and the leads with what the hub holds, and resumes on request', async () => {
    const { from, oldKey, newKey, privateKey } = await stageRotation();
    undo.push(await slowWgSet(hub(), 4));
    await switchClient(privateKey);
    // The watch commits the file before its (slowed) `wg set`: the disk fails before the worker's commit.
    const committed = async () => keysIn(await filePeers()).join() === `${newKey} ${ADDRESS}`;
    expect(await waitFor(committed, 60_000)).toBe(true);
    const undoReadOnly = await readOnlyWgConfigDir(hub());
    undo.push(undoReadOnly);

    const failed = await after(from, (m) => m.reply.kind === 'peer.failed');
    expect(failed.to).toEqual({ type: 'user', id: 'bob' });
    const notice = await after(
      from,
      (m) => m.to.type === 'leads' && m.reply.kind === 'notice' && m.reply.text.includes('bob-laptop'),
    );
    const text = notice.reply.kind === 'notice' ? notice.reply.text : '';
    expect(text).toContain('could not finish');
    expect(text).toContain(
      `On the hub now: new key live with ${ADDRESS}, in the config file; old key not live, not in the config file.`,
    );
    expect(text).toContain(oldKey);
    expect((await rotations().find('hub1', 'bob-laptop'))?.state).toBe('moved');

    await undoReadOnly();
    const resumed = h.messages.length;
    await h.run('bob', '/vpn rotate bob-laptop');
    await after(resumed, phase('done'));
    expect((await h.runtime.bot.inventory.findByName(['hub1'], 'bob-laptop'))?.publicKey).toBe(newKey);
    expect(keysIn(await filePeers())).toEqual([`${newKey} ${ADDRESS}`]);
  });
});

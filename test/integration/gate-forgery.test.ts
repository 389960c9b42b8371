/**
 * Attacks on the approval gate by someone who can write to Redis but does not hold the deployment
 * secret: the worker's re-check refuses each one and the hub is left untouched.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { UserId } from '../../src/core/ids.js';
import { parseDump } from '../../src/wg/dump.js';
import { useLab } from '../support/lab.js';
import { type Harness, replyOf, startHarness } from '../support/tunnelgate.js';

const lab = useLab({ hubs: 1, clients: 0 });
const OTHER_KEY = 'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=';

lab.describe('gate forgery on a lab hub', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(lab.get(), 'gate-forgery', { leads: ['alice', 'lena'] });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const livePeers = async () => parseDump((await lab.hub().exec(['wg', 'show', 'wg0', 'dump'])).stdout).peers;
  const failureOf = (id: string) =>
    h.waitFor((m) => m.reply.kind === 'peer.failed' && m.reply.requestId === id && m.to.type === 'user');

  it('refuses an approval written into Redis without the secret; nothing reaches the hub', async () => {
    const pending = replyOf(await h.run('bob', '/vpn request forged --reason x'), 'request.pending');
    if (pending === undefined) throw new Error('no pending request');
    const { id, hub } = pending.request;
    await h.runtime.bot.requests.update(id, (r) => ({
      ok: true,
      request: {
        ...r,
        state: 'approved',
        gate: {
          ...r.gate,
          decisions: [
            {
              by: UserId.parse('alice'),
              decision: 'approve',
              at: new Date().toISOString(),
              roles: [],
              mac: 'f'.repeat(64),
            },
          ],
        },
      },
    }));
    await h.runtime.bot.queues.addHub({ kind: 'provision', hub, requestId: id }, { jobId: `forged-${id}` });
    const failed = await failureOf(id);
    expect(failed.reply.kind === 'peer.failed' && failed.reply.error).toMatchObject({
      code: 'FORBIDDEN',
      message: `request ${id} cannot be provisioned: the decision of alice does not carry a valid signature`,
    });
    expect(await livePeers()).toEqual([]);
  });

  it('refuses a request whose public key was swapped between the approvals', async () => {
    const pending = replyOf(
      await h.run('bob', '/vpn request swapped --full --reason "hostile wifi"'),
      'request.pending',
    );
    const id = pending?.request.id ?? '';
    await h.run('alice', `/vpn approve ${id}`);
    await h.runtime.bot.requests.update(id, (r) => ({
      ok: true,
      request: { ...r, publicKey: OTHER_KEY as typeof r.publicKey },
    }));
    await h.run('lena', `/vpn approve ${id}`);
    const failed = await failureOf(id);
    expect(failed.reply.kind === 'peer.failed' && failed.reply.error.message).toBe(
      `request ${id} cannot be provisioned: the request changed after it was approved`,
    );
    expect((await livePeers()).map((p) => p.publicKey)).not.toContain(OTHER_KEY);
  });
});

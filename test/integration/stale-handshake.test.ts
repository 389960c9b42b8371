/**
 * The guide's common mistake 6 on a lab hub: a client without PersistentKeepalive behind a
 * carrier-style stateful firewall (lab/carrier-nat.ts) that forgets idle UDP flows after 2 s.
 * The client handshakes, goes idle, and the hub can no longer reach it; the hub's clock is read
 * 200 s ahead (lab/hub-clock.ts) rather than waiting for the handshake to turn stale. Diagnose must not send it
 * to check its Endpoint (mistake 1): it handshook, from a known endpoint, with bytes both ways.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DiagnosisStep } from '../../src/domain/models/diagnosis.js';
import { carrierNat, remembersFlow, waitUntilForgotten } from '../../src/lab/carrier-nat.js';
import { hubClockAhead } from '../../src/lab/hub-clock.js';
import { buildDiagnosis } from '../../src/workers/diagnose.js';
import { useLab } from '../support/lab.js';
import { type Harness, replyOf, startHarness } from '../support/tunnelgate.js';

const lab = useLab({ hubs: 1, clients: 1 });

/** Past the playbook's stale mark (180 s) after the last handshake. */
const LATER_SEC = 200;

lab.describe('a roaming client whose NAT forgets its idle UDP mapping', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness(lab.get(), 'stale-handshake');
  });
  afterAll(async () => {
    await h?.stop();
  });

  /** The handshake step of a diagnosis of bob-phone, read with the hub's clock `aheadSec` ahead. */
  const diagnoseAt = async (aheadSec: number): Promise<DiagnosisStep | undefined> => {
    const undo = aheadSec === 0 ? async () => undefined : await hubClockAhead(lab.hub(), aheadSec);
    try {
      return (await buildDiagnosis(h.runtime.worker, 'hub1', 'bob-phone', 'full')).report.steps[1];
    } finally {
      await undo();
    }
  };

  it('names mistake 6 and the client-side keepalive fix for a peer that handshook and went stale', async () => {
    const pending = replyOf(await h.run('bob', '/vpn request phone'), 'request.pending');
    await h.run('alice', `/vpn approve ${pending?.request.id}`);
    const config = await h.waitFor((m) => m.reply.kind === 'peer.config');
    const text = config.reply.kind === 'peer.config' ? config.reply.configText : '';
    expect(text).toMatch(/^PersistentKeepalive = 25$/m);
    const record = await h.runtime.bot.inventory.findByName(['hub1'], 'bob-phone');
    expect(record?.clientKeepalive).toBe(25);
    // The device dropped the keepalive line, and the peer is as old as the bot's record of it:
    // its delivered keepalive is unknown.
    await lab.client().up(text.replace(/^PersistentKeepalive = 25\n/m, ''));
    if (record === null) throw new Error('no record');
    const { clientKeepalive: _, ...older } = record;
    await h.runtime.bot.inventory.put(older);

    const undo = await carrierNat(lab.client(), lab.hub(), 2);
    try {
      expect(await lab.client().ping(lab.hub().hubAddress, { count: 1, timeoutSec: 5 })).toBe(true);
      expect(await waitUntilForgotten(lab.client(), lab.hub(), 30_000)).toBe(true);

      const step = await diagnoseAt(LATER_SEC);
      expect(step?.verdict).toBe('fail');
      const f = step?.findings[0];
      expect(f?.check).toBe('handshake-stale');
      expect(f?.cause).toContain('common mistake 6');
      expect(f?.fix).toContain('PersistentKeepalive = 25');
      expect(f?.fix).toContain('on the client (not on the hub');
      expect(`${f?.cause} ${f?.fix}`).not.toMatch(/Endpoint|mistake 1/);
      const evidence = f?.evidence.join('\n') ?? '';
      expect(evidence).toMatch(
        new RegExp(
          `last handshake \\d+s ago \\(\\d{4}-[^)]+\\) from ${lab.client().labAddress.replaceAll('.', '\\.')}:\\d+, [1-9]\\d* bytes received and [1-9]\\d* sent`,
        ),
      );
      expect(evidence).toContain('got no answer, the way back to the client is closed');

      // The fix the report names: keepalive 25 on the client brings the flow and the peer back.
      const hubKey = lab.hub().wgPublicKey;
      await lab.client().exec(['wg', 'set', 'wg0', 'peer', hubKey, 'persistent-keepalive', '25']);
      expect(await remembersFlow(lab.client(), lab.hub())).toBe(true);
      const healthy = await diagnoseAt(0);
      expect(healthy?.verdict).toBe('pass');
    } finally {
      await undo();
    }
  });
});

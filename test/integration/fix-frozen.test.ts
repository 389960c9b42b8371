/**
 * `/vpn fix` runs exactly the action the lead approved: the approval (the gate) is bound to the
 * digest of the stored action as proposed, and the worker refuses a finding that changed after.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HubName } from '../../src/core/ids.js';
import type { Finding } from '../../src/domain/models/diagnosis.js';
import { HUB_WG_CONFIG } from '../../src/lab/hub.js';
import { FindingRecord, FindingStore } from '../../src/store/findings.js';
import { useLab } from '../support/lab.js';
import { type Harness, replyOf, startHarness } from '../support/tunnelgate.js';

const lab = useLab({ hubs: 1, clients: 0 });

lab.describe('/vpn fix applies the finding as the lead approved it', () => {
  let h: Harness;
  let store: FindingStore;
  const dir = HUB_WG_CONFIG.slice(0, HUB_WG_CONFIG.lastIndexOf('/') + 1);
  const mode = async (path: string) => (await lab.hub().exec(['stat', '-c', '%a', path])).stdout.trim();

  function finding(id: string, paths: string[]): Finding {
    return {
      id,
      check: 'key-file-mode',
      severity: 'medium',
      title: 'key files are readable by others',
      evidence: paths.map((p) => `${p} 644`),
      cause: 'created with a loose umask',
      fix: 'chmod 600',
      action: { type: 'chmod-600', paths },
    };
  }

  /** A stored finding as an audit would leave it about `paths`; every file in `files` starts world-readable. */
  async function stored(id: string, paths: string[], files: string[]): Promise<void> {
    for (const p of files) {
      await lab.hub().writeFile(p, 'not a secret\n', 0o644);
      await lab.hub().exec(['chmod', '644', p]);
    }
    await store.saveFixable('hub1', 'audit', [finding(id, paths)], new Date());
  }

  /** Rewrites the stored finding's action in Redis, keeping its proposal and gate. */
  async function swapAction(id: string, paths: string[]): Promise<void> {
    const key = `${h.prefix}:finding:${id}`;
    const record = FindingRecord.parse(JSON.parse((await h.runtime.bot.redis.get(key)) ?? 'null'));
    const changed = { ...record, finding: { ...record.finding, action: { type: 'chmod-600', paths } } };
    await h.runtime.bot.redis.set(key, JSON.stringify(changed), 'KEEPTTL');
  }

  beforeAll(async () => {
    h = await startHarness(lab.get(), 'fix-frozen', { leads: ['alice', 'frank'] });
    store = new FindingStore(h.runtime.bot.redis, h.runtime.bot.keys);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('refuses in the worker a fix whose stored action changed between approval and apply, and leaves the hub unchanged', async () => {
    const [shown, swapped] = [`${dir}frozen-a.key`, `${dir}frozen-b.key`];
    const id = 'f-frozen22';
    await stored(id, [shown], [shown, swapped]);
    await h.run('carol', `/vpn fix ${id}`);
    const queue = h.runtime.bot.queues.hubQueue(HubName.parse('hub1'));
    await queue.pause();
    let jobId: string | undefined;
    try {
      const [queued] = await h.run('alice', `/vpn fix ${id} --approve`);
      expect(queued?.reply.kind).toBe('job.queued');
      jobId = queued?.jobId;
      await swapAction(id, [swapped]);
    } finally {
      await queue.resume();
    }
    const done = await h.waitFor((m) => m.jobId === jobId && m.final === true);
    expect(done.reply).toMatchObject({
      kind: 'notice',
      text: `fix ${id} on hub1 failed: fix ${id} was not applied: the fix changed after it was approved`,
    });
    expect(await mode(shown)).toBe('644');
    expect(await mode(swapped)).toBe('644');
    const audit = await h.runtime.bot.audit.tail(10);
    expect(audit.at(-1)).toMatchObject({ action: 'fix', target: id, result: 'refused', actor: 'alice' });
  });

  it('refuses to approve a fix whose stored action changed after it was proposed', async () => {
    const [shown, swapped] = [`${dir}frozen-c.key`, `${dir}frozen-d.key`];
    const id = 'f-frozen33';
    await stored(id, [shown], [shown, swapped]);
    await h.run('carol', `/vpn fix ${id}`);
    await swapAction(id, [swapped]);
    const error = replyOf(await h.run('alice', `/vpn fix ${id} --approve`), 'error');
    expect(error?.code).toBe('CONFLICT');
    expect(error?.message).toContain('changed after it was proposed');
    expect(await mode(swapped)).toBe('644');
  });

  it('drops the proposal when a new report finds another action under the same id, so the old approval cannot run it', async () => {
    const [shown, swapped] = [`${dir}frozen-e.key`, `${dir}frozen-f.key`];
    const id = 'f-frozen44';
    await stored(id, [shown], [shown, swapped]);
    await h.run('carol', `/vpn fix ${id}`);
    await store.saveFixable('hub1', 'audit', [finding(id, [swapped])], new Date());
    expect((await store.get(id))?.gate).toBeUndefined();
    expect(replyOf(await h.run('alice', `/vpn fix ${id} --approve`), 'error')?.code).toBe('CONFLICT');
    // Proposed anew and approved, the new action runs.
    await h.run('carol', `/vpn fix ${id}`);
    const [queued] = await h.run('alice', `/vpn fix ${id} --approve`);
    const applied = await h.waitFor((m) => m.reply.kind === 'fix.applied' && m.reply.findingId === id);
    expect(applied.reply).toMatchObject({ changed: [`chmod 600 ${swapped}`] });
    await h.waitFor((m) => m.jobId === queued?.jobId && m.final === true);
    expect(await mode(swapped)).toBe('600');
    expect(await mode(shown)).toBe('644');
  });
});

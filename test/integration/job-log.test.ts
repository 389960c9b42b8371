import { afterAll, beforeAll, expect, it } from 'vitest';
import { readOnlyWgConfigDir } from '../../src/lab/faults.js';
import { useLab } from '../support/lab.js';
import { type Harness, replyOf, startHarness } from '../support/tunnelgate.js';

const lab = useLab({ hubs: 1, clients: 0 });

interface JobLine {
  level: number;
  msg: string;
  queue: string;
  kind: string;
  hub?: string;
  jobId: string;
  requestId?: string;
  peer?: string;
  attempt: number;
  attempts: number;
  durationMs: number;
  outcome: string;
  code?: string;
}

lab.describe('one log line per job end, for operators', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness(lab.get(), 'job-log', {
      worker: { lockDuration: '5s', stalledInterval: '2s', attempts: 2, backoff: '1s' },
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const jobLines = (): JobLine[] =>
    h
      .log()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as JobLine & { msg: string })
      .filter((line) => line.msg.startsWith('job ') && 'outcome' in line);

  /** Waits (up to 20 s) until a job line matches: a job's line follows the messages it sent. */
  const lineLogged = async (match: (line: JobLine) => boolean): Promise<void> => {
    const deadline = Date.now() + 20_000;
    while (!jobLines().some(match) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  const provision = async (user: string, device: string) => {
    const id = replyOf(await h.run(user, `/vpn request ${device}`), 'request.pending')?.request.id ?? '';
    await h.run('alice', `/vpn approve ${id}`);
    return id;
  };

  it('logs a provision at info with kind, hub, job id, request, attempt, duration and outcome, and no key', async () => {
    const requestId = await provision('bob', 'laptop');
    const config = await h.waitFor((m) => m.reply.kind === 'peer.config');
    await lineLogged((l) => l.requestId === requestId);
    const ended = jobLines().filter((l) => l.kind === 'provision' && l.requestId === requestId);
    expect(ended).toEqual([
      {
        level: 30,
        time: expect.any(Number),
        pid: expect.any(Number),
        hostname: expect.any(String),
        name: 'tunnelgate',
        msg: 'job ok',
        queue: expect.stringContaining('hub1'),
        kind: 'provision',
        hub: 'hub1',
        jobId: expect.any(String),
        requestId,
        attempt: 1,
        attempts: 2,
        durationMs: expect.any(Number),
        outcome: 'ok',
      },
    ]);
    expect(ended[0]?.durationMs).toBeGreaterThanOrEqual(0);
    // Nothing logged the private key the owner got.
    const privateKey = /^PrivateKey = (\S+)$/m.exec(
      config.reply.kind === 'peer.config' ? config.reply.configText : '',
    )?.[1];
    expect(privateKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(h.log()).not.toContain(privateKey);
  });

  it('logs a task job (the peers read behind /vpn list) with its outcome', async () => {
    await h.run('bob', '/vpn list');
    await h.waitFor((m) => m.reply.kind === 'peer.list');
    await lineLogged((l) => l.kind === 'peers');
    expect(jobLines().filter((l) => l.kind === 'peers')).toEqual([
      expect.objectContaining({ level: 30, queue: 'tasks', attempt: 1, outcome: 'ok' }),
    ]);
    // The notifier's jobs (the first test's config delivery among them) end with their line too.
    expect(jobLines().some((l) => l.kind === 'notify' && l.queue === 'notify' && l.outcome === 'ok')).toBe(
      true,
    );
  });

  it('logs each failed attempt with its error code: retrying first, then failed on the last', async () => {
    const undo = await readOnlyWgConfigDir(lab.hub());
    let requestId = '';
    try {
      requestId = await provision('carol', 'phone');
      // peer.failed is told after the last attempt; its line follows at once.
      await h.waitFor((m) => m.reply.kind === 'peer.failed', 30_000);
      await lineLogged((l) => l.requestId === requestId && l.outcome === 'failed');
    } finally {
      await undo();
    }
    const ended = jobLines().filter((l) => l.kind === 'provision' && l.requestId === requestId);
    expect(ended.map((l) => [l.attempt, l.outcome, l.code])).toEqual([
      [1, 'retrying', 'HUB_COMMAND_FAILED'],
      [2, 'failed', 'HUB_COMMAND_FAILED'],
    ]);
    expect(new Set(ended.map((l) => l.jobId)).size).toBe(1);
    expect(ended.every((l) => l.level === 30 && l.hub === 'hub1')).toBe(true);
  });
});

import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { useLab } from '../support/lab.js';
import { type Harness, startHarness } from '../support/tunnelgate.js';
import { writeConfigFile } from '../support/worker-process.js';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'tunnelgate.js');
const lab = useLab({ hubs: 1, clients: 0 });

interface JsonLine {
  kind: string;
  to: string;
  private: boolean;
  requestId?: string;
  reply: Record<string, unknown>;
}

const parseLines = (text: string): JsonLine[] =>
  text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as JsonLine);

lab.describe('the shell adapter (tunnelgate shell)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness(lab.get(), 'shell', { inProcessWorkers: false });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('reads commands from stdin and prints one JSON object per reply with a stable kind', async () => {
    const configPath = writeConfigFile(h.dataDir, h.config);
    const input = [
      '/vpn help',
      'request laptop --reason "from a script"',
      '# a comment',
      '/vpn frobnicate',
      '',
    ].join('\n');
    const child = run(process.execPath, [BIN, 'shell', '--as', 'bob', '--json', '--no-worker'], {
      env: { ...process.env, TUNNELGATE_CONFIG: configPath, LOG_LEVEL: 'silent' },
    });
    child.child.stdin?.end(input);
    const result = await child.catch((err: { stdout: string; code: number }) => err);
    expect('code' in result ? result.code : 0).toBe(1);
    const lines = parseLines(result.stdout);
    expect(lines.map((l) => `${l.kind}->${l.to}`)).toEqual([
      'help->bob',
      'request.pending->bob',
      'request.review->leads',
      'error->bob',
    ]);
    expect(lines[1]?.requestId).toMatch(/^r-[a-z0-9]{6}$/);
    expect(lines[1]?.private).toBe(true);
    expect(lines[3]?.reply).toMatchObject({ code: 'INPUT_INVALID' });
    expect(String(lines[3]?.reply.message)).toContain('frobnicate');
  });

  it('switches user with `as`, and at end of input waits for the jobs it started before exiting', async () => {
    // Its own prefix (under the harness's, so cleanup covers it), so the harness's notifier does
    // not take this process's messages.
    const config = { ...h.config, redis: { ...h.config.redis, prefix: `${h.prefix}s` } };
    const configPath = writeConfigFile(h.dataDir, config);
    const child = spawn(process.execPath, [BIN, 'shell', '--as', 'dora', '--json'], {
      env: { ...process.env, TUNNELGATE_CONFIG: configPath, LOG_LEVEL: 'silent' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let printed = '';
    child.stdout.on('data', (chunk: Buffer) => {
      printed += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.stdin.write('/vpn request laptop\n');
    const deadline = Date.now() + 20_000;
    while (!printed.includes('request.pending') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const id = /"requestId":"(r-[a-z0-9]{6})"/.exec(printed)?.[1];
    expect(id).toBeDefined();
    child.stdin.end(`as alice\n/vpn approve ${id}\n`);

    expect(await exited).toBe(0);
    const lines = parseLines(printed);
    const kinds = lines.map((l) => `${l.kind}->${l.to}`);
    expect(kinds).toEqual(
      expect.arrayContaining(['request.approved->alice', 'peer.config->dora', 'peer.provisioned->dora']),
    );
    // It exited only after the provisioning job reported its final message.
    expect(kinds.indexOf('peer.provisioned->dora')).toBeGreaterThan(kinds.indexOf('request.approved->alice'));
    const pending = lines.find((l) => l.kind === 'request.pending')?.reply as {
      request: { publicKey: string };
    };
    const dump = await lab.get().hubs[0]?.exec(['wg', 'show', 'wg0', 'allowed-ips']);
    expect(dump?.stdout).toContain(pending.request.publicKey);
  });

  it('beside a running bot on the same queues, gets the replies to its own jobs and the bot none of them', async () => {
    // The harness is the running bot: its notifier reads the deployment's notify queue.
    const configPath = writeConfigFile(h.dataDir, h.config);
    const child = spawn(process.execPath, [BIN, 'shell', '--as', 'erin', '--json'], {
      env: { ...process.env, TUNNELGATE_CONFIG: configPath, LOG_LEVEL: 'silent' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let printed = '';
    child.stdout.on('data', (chunk: Buffer) => {
      printed += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.stdin.write('/vpn request phone\n');
    const deadline = Date.now() + 20_000;
    while (!printed.includes('request.pending') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const id = /"requestId":"(r-[a-z0-9]{6})"/.exec(printed)?.[1];
    expect(id).toBeDefined();
    child.stdin.end(`as alice\n/vpn approve ${id}\n`);

    expect(await exited).toBe(0);
    const kinds = parseLines(printed).map((l) => `${l.kind}->${l.to}`);
    expect(kinds).toEqual(expect.arrayContaining(['peer.config->erin', 'peer.provisioned->erin']));
    const toBot = h.messages.filter((m) => (m.reply as { requestId?: string }).requestId === id);
    expect(toBot.map((m) => m.reply.kind)).toEqual([]);
  });
});

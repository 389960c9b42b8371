import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { type HttpEndpoint, startHttpServer } from '../../src/cli/http.js';
import { startObservability } from '../../src/cli/observe.js';
import { createLogger } from '../../src/core/logger.js';
import { HandshakeMonitor } from '../../src/observability/handshakes.js';
import { startEmbeddedRedis } from '../../src/store/embedded-redis.js';
import { useLab } from '../support/lab.js';
import { type Harness, replyOf, startHarness } from '../support/tunnelgate.js';

const lab = useLab({ hubs: 1, clients: 1 });

/** The value of one series in Prometheus text, or undefined when the series is absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const have = (match[2] ?? '').split(',');
    if (wanted.every((pair) => have.includes(pair)) && have.length === wanted.length) return Number(match[3]);
  }
  return undefined;
}

const quietLogger = () =>
  createLogger({
    level: 'silent',
    destination: new Writable({ write: (_c, _e, done) => done() }),
  });

lab.describe('/metrics and /healthz', () => {
  let h: Harness;
  let endpoint: HttpEndpoint;

  beforeAll(async () => {
    h = await startHarness(lab.get(), 'metrics', { metrics: { peerLabels: true } });
    endpoint = await startHttpServer(
      { health: () => h.runtime.health(), metrics: h.runtime.metrics },
      { host: '127.0.0.1', port: 0, logger: quietLogger() },
    );
  });
  afterAll(async () => {
    await lab
      .get()
      .clients[0]?.down()
      .catch(() => undefined);
    await endpoint?.close();
    await h?.stop();
  });

  const scrape = async () => {
    const res = await fetch(`${endpoint.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    return res.text();
  };

  it('exports peers, queue depth, job durations, SSH state and the handshake age of a provisioned peer', async () => {
    const monitor = new HandshakeMonitor({
      ...h.runtime.worker,
      config: { ...h.config, metrics: { ...h.config.metrics, handshakeRefresh: 1_000 } },
    });
    const before = await scrape();
    expect(sample(before, 'tunnelgate_peers', { hub: 'hub1' })).toBe(0);
    expect(sample(before, 'tunnelgate_ssh_connected', { hub: 'hub1' })).toBe(0);

    const id = replyOf(await h.run('bob', '/vpn request laptop'), 'request.pending')?.request.id ?? '';
    await h.run('alice', `/vpn approve ${id}`);
    const config = await h.waitFor((m) => m.reply.kind === 'peer.config');
    const provisioned = await h.waitFor((m) => m.reply.kind === 'peer.provisioned');
    const peer = provisioned.reply.kind === 'peer.provisioned' ? provisioned.reply.peer : '';
    expect(peer).toBe('bob-laptop');

    // Provisioned, but the client never connected: the peer has no handshake age series.
    await monitor.refresh('hub1');
    const idle = await scrape();
    expect(sample(idle, 'tunnelgate_peers', { hub: 'hub1' })).toBe(1);
    expect(
      sample(idle, 'tunnelgate_peer_latest_handshake_age_seconds', { hub: 'hub1', peer }),
    ).toBeUndefined();
    expect(sample(idle, 'tunnelgate_handshake_reading_age_seconds', { hub: 'hub1' })).toBeGreaterThanOrEqual(
      0,
    );

    const client = lab.get().clients[0];
    await client?.up(config.reply.kind === 'peer.config' ? config.reply.configText : '');
    expect(await client?.ping(lab.get().hubs[0]?.hubAddress ?? '', { count: 2, timeoutSec: 5 })).toBe(true);
    await new Promise((r) => setTimeout(r, 300)); // the lock of the previous reading (250 ms)
    await monitor.refresh('hub1');

    const text = await scrape();
    expect(sample(text, 'tunnelgate_peers', { hub: 'hub1' })).toBe(1);
    const age = sample(text, 'tunnelgate_peer_latest_handshake_age_seconds', { hub: 'hub1', peer });
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(120);
    expect(sample(text, 'tunnelgate_ssh_connected', { hub: 'hub1' })).toBe(1);
    expect(sample(text, 'tunnelgate_ssh_connects_total', { hub: 'hub1' })).toBeGreaterThanOrEqual(1);
    for (const state of ['waiting', 'active', 'delayed', 'failed']) {
      expect(sample(text, 'tunnelgate_queue_jobs', { queue: 'hub-hub1', hub: 'hub1', state })).toBe(0);
      expect(sample(text, 'tunnelgate_queue_jobs', { queue: 'tasks', hub: '', state })).toBeDefined();
      expect(sample(text, 'tunnelgate_queue_jobs', { queue: 'notify', hub: '', state })).toBeDefined();
    }
    const provisions = {
      queue: 'hub-hub1',
      kind: 'provision',
      hub: 'hub1',
      outcome: 'completed',
    };
    expect(sample(text, 'tunnelgate_job_duration_seconds_count', provisions)).toBe(1);
    expect(sample(text, 'tunnelgate_job_duration_seconds_sum', provisions)).toBeGreaterThan(0);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
  });

  it('with metrics.token /metrics answers only its bearer token, and without peerLabels names no peer', async () => {
    const token = 'metrics-token-7f3a9c2e5b';
    // The same Redis state as the first test (bob-laptop and its handshake reading), default labels.
    // A second process of the same deployment: the same prefix and the same data key.
    const secret = readFileSync(join(h.dataDir, 'secret.key'), 'utf8').trim();
    const second = await startHarness(lab.get(), 'metrics-token', {
      prefix: h.prefix,
      env: { TUNNELGATE_SECRET: secret },
      inProcessWorkers: false,
      metrics: { token, port: 0 },
    });
    const observed = await startObservability(second.runtime, false);
    try {
      const url = observed.endpoint?.url ?? '';
      const get = (headers: Record<string, string> = {}) => fetch(`${url}/metrics`, { headers });
      const anonymous = await get();
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="tunnelgate"');
      expect(await anonymous.text()).not.toContain('tunnelgate_');
      for (const authorization of [
        `Bearer ${token}x`,
        `Bearer ${token.slice(1)}`,
        `Basic ${token}`,
        'Bearer ',
      ])
        expect((await get({ authorization })).status).toBe(401);
      const ok = await get({ authorization: `Bearer ${token}` });
      expect(ok.status).toBe(200);
      const text = await ok.text();
      expect(sample(text, 'tunnelgate_peers', { hub: 'hub1' })).toBe(1);
      expect(text).not.toContain('bob-laptop');
      expect(text).not.toContain('tunnelgate_peer_latest_handshake_age_seconds');
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      // The first harness exports peer names only because its config asks for them.
      expect(await scrape()).toContain('peer="bob-laptop"');
    } finally {
      await second.stop();
      await observed.close();
    }
  });

  it('/healthz answers 200 while running and 503 once shutdown began', async () => {
    const second = await startHarness(lab.get(), 'healthz-stop', { inProcessWorkers: false });
    const http = await startHttpServer(
      { health: () => second.runtime.health(), metrics: second.runtime.metrics },
      { host: '127.0.0.1', port: 0, logger: quietLogger() },
    );
    try {
      const ok = await fetch(`${http.url}/healthz`);
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ ok: true, redis: 'up', stopping: false });
      const closing = second.stop();
      const stopping = await fetch(`${http.url}/healthz`);
      expect(stopping.status).toBe(503);
      expect(await stopping.json()).toMatchObject({ ok: false, stopping: true });
      await closing;
    } finally {
      await http.close();
    }
  });
});

lab.describe('/healthz without Redis', () => {
  let dataDir: string;
  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 200 while Redis answers PING and 503 after Redis is stopped', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tg-healthz-'));
    const redis = await startEmbeddedRedis({ dataDir, logger: quietLogger() });
    const h = await startHarness(lab.get(), 'healthz', { redisUrl: redis.url, inProcessWorkers: false });
    const http = await startHttpServer(
      { health: () => h.runtime.health(), metrics: h.runtime.metrics },
      { host: '127.0.0.1', port: 0, logger: quietLogger() },
    );
    try {
      const up = await fetch(`${http.url}/healthz`);
      expect(up.status).toBe(200);
      expect(await up.json()).toEqual({ ok: true, redis: 'up', stopping: false });

      await redis.stop();
      const down = await fetch(`${http.url}/healthz`);
      expect(down.status).toBe(503);
      expect(await down.json()).toEqual({ ok: false, redis: 'down', stopping: false });
      // A scrape still answers, without the series that need Redis.
      const metrics = await fetch(`${http.url}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).not.toMatch(/^tunnelgate_peers\{/m);
    } finally {
      await http.close();
      await h.stop();
      await redis.stop();
    }
  });
});

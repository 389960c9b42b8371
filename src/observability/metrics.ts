/**
 * The Prometheus metrics of one process (prom-client, a registry per runtime, nothing global).
 * Job durations and failures come from the BullMQ Worker events of this process; SSH connection
 * counts from the HubConnection hooks; queue depth, SSH state, peers per hub and handshake ages are
 * read when scraped (handshake ages per peer only with `metrics.peerLabels`, as they name peers). Cluster-wide series (queue depth, peers, handshake age) are the same in every
 * process that exports them: aggregate them with max() by their labels, not sum().
 */
import type { Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { TunnelgateConfig } from '../config/schema.js';
import type { Logger } from '../core/logger.js';
import type { ConnectionHooks, DisconnectReason } from '../hub/ssh/hub-connection.js';
import type { HubPool } from '../hub/ssh/hub-pool.js';
import type { Queues } from '../queue/queues.js';
import type { RedisKeys } from '../store/keys.js';
import { readHandshakes } from './handshakes.js';
import { within } from './within.js';

/** Queue states exported as `tunnelgate_queue_jobs{state}`. */
const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

/** A scrape waits at most this long for Redis; after that the live series are left out. */
const SCRAPE_REDIS_TIMEOUT_MS = 2_000;

/** What the scrape-time series are read from, known once the runtime is assembled. */
export interface MetricSources {
  redis: Redis;
  keys: RedisKeys;
  queues: Queues;
  pool: HubPool;
}

/** The error code of a failed job: a TunnelgateError's `code`, or the `CODE:` prefix of a final failure. */
function failureCode(err: Error): string {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^[A-Z_]+$/.test(code)) return code;
  return /^([A-Z_]{3,}): /.exec(err.message)?.[1] ?? 'UNKNOWN';
}

/** The hub a job works on (`data.hub`), or '' for work that changes no single hub. */
function jobHub(job: Job): string {
  const hub = (job.data as { hub?: unknown } | undefined)?.hub;
  return typeof hub === 'string' ? hub : '';
}

/** The registry and every Tunnelgate series of one process. */
export class Metrics {
  readonly registry = new Registry();
  private readonly hubs: string[];
  private readonly prefix: string;
  private readonly logger: Logger;
  private sources: MetricSources | undefined;

  private readonly queueJobs: Gauge<'queue' | 'hub' | 'state'>;
  private readonly jobDuration: Histogram<'queue' | 'kind' | 'hub' | 'outcome'>;
  private readonly jobFailures: Counter<'queue' | 'kind' | 'hub' | 'code' | 'final'>;
  private readonly sshConnected: Gauge<'hub'>;
  private readonly sshConnects: Counter<'hub'>;
  private readonly sshDisconnects: Counter<'hub' | 'reason'>;
  private readonly peers: Gauge<'hub'>;
  /** Only with `metrics.peerLabels`: the series carry peer names. */
  private readonly handshakeAge: Gauge<'hub' | 'peer'> | undefined;
  private readonly handshakeDataAge: Gauge<'hub'>;

  constructor(config: TunnelgateConfig, logger: Logger) {
    this.hubs = config.hubs.map((h) => h.name);
    this.prefix = config.redis.prefix;
    this.logger = logger;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.queueJobs = new Gauge({
      name: 'tunnelgate_queue_jobs',
      help: 'Jobs in a queue by state (hub is empty for the tasks and notify queues); cluster-wide: aggregate with max()',
      labelNames: ['queue', 'hub', 'state'],
      registers,
    });
    this.jobDuration = new Histogram({
      name: 'tunnelgate_job_duration_seconds',
      help: 'Time from a job starting in this process to its completion or failure',
      labelNames: ['queue', 'kind', 'hub', 'outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.jobFailures = new Counter({
      name: 'tunnelgate_job_failures_total',
      help: 'Failed job attempts in this process; final="true" when no retry follows',
      labelNames: ['queue', 'kind', 'hub', 'code', 'final'],
      registers,
    });
    this.sshConnected = new Gauge({
      name: 'tunnelgate_ssh_connected',
      help: '1 while this process holds an open SSH connection to the hub (it closes when idle)',
      labelNames: ['hub'],
      registers,
    });
    this.sshConnects = new Counter({
      name: 'tunnelgate_ssh_connects_total',
      help: 'SSH connections opened to the hub by this process',
      labelNames: ['hub'],
      registers,
    });
    this.sshDisconnects = new Counter({
      name: 'tunnelgate_ssh_disconnects_total',
      help: 'SSH connections ended, by reason (idle, closed, retired, lost)',
      labelNames: ['hub', 'reason'],
      registers,
    });
    this.peers = new Gauge({
      name: 'tunnelgate_peers',
      help: 'Peers in the inventory of the hub; cluster-wide: aggregate with max()',
      labelNames: ['hub'],
      registers,
    });
    this.handshakeAge = config.metrics.peerLabels
      ? new Gauge({
          name: 'tunnelgate_peer_latest_handshake_age_seconds',
          help: 'Seconds since the peer last completed a handshake (absent: never, or no recent reading); cluster-wide: aggregate with max()',
          labelNames: ['hub', 'peer'],
          registers,
        })
      : undefined;
    this.handshakeDataAge = new Gauge({
      name: 'tunnelgate_handshake_reading_age_seconds',
      help: 'Age of the latest handshake reading of the hub (absent: none within its time to live); cluster-wide: aggregate with max()',
      labelNames: ['hub'],
      registers,
    });
    for (const hub of this.hubs) {
      this.sshConnects.inc({ hub }, 0);
      for (const reason of ['idle', 'closed', 'retired', 'lost'] satisfies DisconnectReason[])
        this.sshDisconnects.inc({ hub, reason }, 0);
    }
  }

  /** Hooks for the HubPool's connections (counts connects and disconnects by reason). */
  get connectionHooks(): ConnectionHooks {
    return {
      onConnected: (hub) => this.sshConnects.inc({ hub }),
      onDisconnected: (hub, reason) => this.sshDisconnects.inc({ hub, reason }),
    };
  }

  /** Names where scrape-time series are read from; before this, only event series are exported. */
  observe(sources: MetricSources): void {
    this.sources = sources;
  }

  /** Records durations and failures of a BullMQ Worker's jobs from its events. */
  instrument(worker: Worker): void {
    const queue = worker.name;
    const seconds = (job: Job) => Math.max(0, Date.now() - (job.processedOn ?? job.timestamp)) / 1_000;
    worker.on('completed', (job) => {
      this.jobDuration.observe(
        { queue, kind: job.name, hub: jobHub(job), outcome: 'completed' },
        seconds(job),
      );
    });
    worker.on('failed', (job, err) => {
      if (job === undefined) return;
      const labels = { queue, kind: job.name, hub: jobHub(job) };
      const final = err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
      this.jobDuration.observe({ ...labels, outcome: 'failed' }, seconds(job));
      this.jobFailures.inc({ ...labels, code: failureCode(err), final: String(final) });
    });
  }

  /** The exposition text: live series are read first (left out when Redis does not answer). */
  async render(): Promise<string> {
    for (const gauge of [
      this.queueJobs,
      this.sshConnected,
      this.peers,
      this.handshakeAge,
      this.handshakeDataAge,
    ])
      gauge?.reset();
    const read = this.readLive().catch((err: unknown) => {
      this.logger.warn({ err }, 'metrics: live series unavailable');
    });
    if (!(await within(read, SCRAPE_REDIS_TIMEOUT_MS)))
      this.logger.warn('metrics: Redis did not answer in time; live series left out');
    return this.registry.metrics();
  }

  /** The content type of {@link render}'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }

  private async readLive(): Promise<void> {
    const sources = this.sources;
    if (sources === undefined) return;
    const { redis, keys, queues, pool } = sources;
    for (const hub of this.hubs) this.sshConnected.set({ hub }, pool.get(hub).connected ? 1 : 0);
    // Commands to a lost Redis would wait in ioredis' offline queue, one batch per scrape.
    if (redis.status !== 'ready') return;
    const named = [
      ...this.hubs.map((hub) => ({ queue: queues.hubQueue(hub), hub })),
      { queue: queues.tasks, hub: '' },
      { queue: queues.notifyQueue, hub: '' },
    ];
    const [counts, peerCounts, readings] = await Promise.all([
      Promise.all(named.map(({ queue }) => queue.getJobCounts(...QUEUE_STATES))),
      Promise.all(this.hubs.map((hub) => redis.hlen(keys.inventory(hub)))),
      Promise.all(this.hubs.map((hub) => readHandshakes(redis, this.prefix, hub))),
    ]);
    named.forEach(({ queue, hub }, i) => {
      for (const state of QUEUE_STATES)
        this.queueJobs.set({ queue: queue.name, hub, state }, counts[i]?.[state] ?? 0);
    });
    const now = Date.now() / 1_000;
    this.hubs.forEach((hub, i) => {
      this.peers.set({ hub }, peerCounts[i] ?? 0);
      const reading = readings[i];
      if (reading === null || reading === undefined) return;
      this.handshakeDataAge.set({ hub }, Math.max(0, now - reading.at));
      for (const peer of reading.peers) {
        if (peer.latestHandshake !== null)
          this.handshakeAge?.set({ hub, peer: peer.peer }, Math.max(0, now - peer.latestHandshake));
      }
    });
  }
}

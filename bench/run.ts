/**
 * `npm run bench`: measures every figure of the benchmarks section in one run, against the bench's
 * own redis-server and real lab hubs, prints a table, and writes BENCHMARKS.md (only when every
 * figure ran: `--only ack,growth` runs a subset and just prints). Labs, worker processes and Redis
 * are torn down on success, failure and Ctrl-C alike.
 */
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../src/core/logger.js';
import { type Lab, startLab } from '../src/lab/lab.js';
import { benchAck } from './ack.js';
import { benchDiagnose } from './diagnose.js';
import { benchGrowth } from './growth.js';
import { benchMemory } from './memory.js';
import { benchProvisioning } from './provisioning.js';
import { type BenchEnv, type Figure, progress } from './support/figure.js';
import { type BenchRedis, startBenchRedis } from './support/redis.js';
import { benchThroughput } from './throughput.js';

interface Module {
  key: string;
  /** Hubs it needs from the shared lab (0: it starts its own). */
  hubs: number;
  /** Lab clients it needs. */
  clients?: number;
  run(env: BenchEnv): Promise<Figure[]>;
}

const MODULES: Module[] = [
  { key: 'ack', hubs: 1, run: benchAck },
  { key: 'provisioning', hubs: 1, run: benchProvisioning },
  { key: 'diagnose', hubs: 1, clients: 1, run: benchDiagnose },
  { key: 'growth', hubs: 2, run: benchGrowth },
  { key: 'throughput', hubs: 4, run: benchThroughput },
  { key: 'memory', hubs: 0, run: benchMemory },
];
/** ack and provisioning take turns on the same hub; the others get their own. */
const SHARED_HUB = new Set(['ack', 'provisioning']);
const LOG_PATH = '/tmp/tunnelgate-bench.log';

function machine(loadAtStart: number): string[] {
  return [
    `- Date: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    `- CPU: ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown'})`,
    `- Memory: ${Math.round(totalmem() / 2 ** 30)} GiB`,
    `- Kernel: Linux ${release()}`,
    `- Node: ${process.version}`,
    `- Load average (1 min) at start / end of the run: ${loadAtStart.toFixed(1)} / ${(loadavg()[0] ?? 0).toFixed(1)}`,
  ];
}

function verdict(f: Figure): string {
  return f.met === null ? '-' : f.met ? 'met' : 'MISSED';
}

function table(figures: readonly Figure[]): string {
  const rows = figures.map((f) => `| ${f.name} | ${f.result} | ${f.goal} | ${verdict(f)} |`);
  return ['| Figure | Result | Goal | Goal met |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

function report(figures: readonly Figure[], seconds: number, loadAtStart: number): string {
  const methods = figures.flatMap((f) => [
    `### ${f.name}`,
    '',
    f.method,
    ...(f.notes ?? []).map((n) => `- ${n}`),
    '',
  ]);
  return [
    '# Benchmarks',
    '',
    'Measured by `npm run bench` (bench/run.ts) in one run against its own redis-server (AOF on) and',
    'real lab hubs (wireguard-go behind wg-quick, OpenSSH sshd, nftables, each in its own network and',
    `mount namespace on this machine). The whole run took ${Math.round(seconds)} s. Figures are`,
    'ratios or distributions from that one run: absolute times are noisy on a 2-core machine.',
    '',
    '## Machine',
    '',
    ...machine(loadAtStart),
    '',
    '## Results',
    '',
    table(figures),
    '',
    '## Scale',
    '',
    'Every count the issue names is used as is: 200 commands in flight, 10 vs 10,000 peers, 500 approvals',
    'over 4 hubs and 4 worker processes, 10 hubs of 10,000 peers. What is smaller is the number of',
    'samples per distribution (30 provisioning approvals, 10 growth adds per hub, 5 diagnoses), to keep',
    'the run within a few minutes: with so few samples p99 is the largest sample.',
    '',
    '## Method',
    '',
    ...methods,
  ].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { only: { type: 'string' } } });
  const only = values.only === undefined ? null : new Set(values.only.split(','));
  const selected = MODULES.filter((m) => only === null || only.has(m.key));
  const logger = createLogger({ level: 'info', destination: createWriteStream(LOG_PATH) });
  let redis: BenchRedis | undefined;
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    // Redis is stopped here (it needs its directory until it has exited); exit handlers tear down
    // the labs and kill the worker processes.
    process.on(signal, () => {
      if (interrupted) return;
      interrupted = true;
      progress(`${signal}: tearing down`);
      setTimeout(() => process.exit(130), 15_000).unref();
      void (redis?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
    });
  }
  const started = performance.now();
  const loadAtStart = loadavg()[0] ?? 0;
  const figures: Figure[] = [];
  progress(`log: ${LOG_PATH}`);
  redis = await startBenchRedis(logger);
  let lab: Lab | undefined;
  try {
    const shared = selected.filter((m) => SHARED_HUB.has(m.key)).length > 0 ? 1 : 0;
    const own = selected.filter((m) => !SHARED_HUB.has(m.key)).reduce((n, m) => n + m.hubs, 0);
    if (shared + own > 0) {
      progress(`starting a lab with ${shared + own} hubs`);
      const clients = selected.reduce((n, m) => n + (m.clients ?? 0), 0);
      lab = await startLab({ hubs: shared + own, clients });
    }
    const redisUrl = redis.url;
    let next = shared;
    let nextClient = 0;
    for (const module of selected) {
      let hubs = lab?.hubs.slice(0, 1) ?? [];
      if (!SHARED_HUB.has(module.key)) {
        hubs = lab?.hubs.slice(next, next + module.hubs) ?? [];
        next += module.hubs;
      }
      const clients = lab?.clients.slice(nextClient, nextClient + (module.clients ?? 0)) ?? [];
      nextClient += module.clients ?? 0;
      if (module.hubs === 0 && lab !== undefined) {
        // The memory figure starts ten hubs of its own: free the shared lab first.
        await lab.stop();
        lab = undefined;
      }
      progress(`${module.key}: start`);
      try {
        figures.push(...(await module.run({ redisUrl, logger, hubs, clients })));
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        logger.error({ err }, `bench ${module.key} failed`);
        progress(`${module.key}: FAILED: ${reason}`);
        figures.push({
          name: module.key,
          result: `FAILED: ${reason.split('\n')[0]}`,
          goal: '-',
          met: false,
          method: '',
        });
      }
    }
  } finally {
    await lab?.stop();
    await redis.stop();
  }
  const seconds = (performance.now() - started) / 1000;
  const notes = figures.flatMap((f) => (f.notes ?? []).map((n) => `- ${f.name}: ${n}`));
  process.stdout.write(`\n${table(figures)}\n\n${notes.join('\n')}\n\nTotal: ${Math.round(seconds)} s\n`);
  if (only === null) {
    await writeFile(
      join(import.meta.dirname, '..', 'BENCHMARKS.md'),
      `${report(figures, seconds, loadAtStart)}\n`,
    );
    progress('wrote BENCHMARKS.md');
  }
  return figures.some((f) => f.result.startsWith('FAILED')) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);

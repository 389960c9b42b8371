/**
 * Diagnose: the time to a full report on a healthy hub (one provisioned peer, its lab client up
 * and handshaking) vs running the same playbook commands one by one over fresh SSH connections,
 * the way a person would. Also exports the task runner the growth figure uses for diagnose and
 * audit at 10 and 10,000 peers.
 */
import { type ReadPlan, readSteps } from '../src/hub/facts/facts.js';
import { HubJob, TaskJob } from '../src/queue/jobs.js';
import type { BenchEnv, Figure } from './support/figure.js';
import { progress } from './support/figure.js';
import { approveAndWait, request } from './support/flow.js';
import { freshSsh } from './support/ssh.js';
import { distribution, median, ms, ratio } from './support/stats.js';
import { type BenchTunnelgate, startTunnelgate } from './support/tunnelgate.js';

const SAMPLES = 5;
const BY_HAND_SAMPLES = 3;

/** Whether some job kind named `kind` exists in the hub or task job unions. */
export function jobKindExists(kind: string): boolean {
  return [...HubJob.options, ...TaskJob.options].some((option) => option.shape.kind.value === kind);
}

/** Whether the diagnose and audit jobs are there to be measured. */
export function diagnoseAvailable(): boolean {
  return jobKindExists('diagnose') && jobKindExists('audit');
}

/**
 * Queues a diagnose or audit task on `hub` for carol (on-call), waits for its report and returns
 * the ms from queueing to arrival, and the report. Throws when the reply is not the report.
 */
export async function timeReport(
  tg: BenchTunnelgate,
  kind: 'diagnose' | 'audit',
  hub: string,
): Promise<{ ms: number; reply: unknown }> {
  const started = performance.now();
  const jobId = await tg.runtime.bot.queues.addTask(TaskJob.parse({ kind, hub, to: 'carol' }));
  const arrival = await tg.waitFor((m) => m.jobId === jobId && m.final === true && m.to.type === 'user');
  const reply = arrival.message.reply;
  if (reply.kind !== `${kind}.report`)
    throw new Error(`${kind} on ${hub}: ${JSON.stringify(reply).slice(0, 400)}`);
  return { ms: arrival.at - started, reply };
}

/** `name: verdict` per playbook step of a diagnose.report. */
function verdicts(reply: unknown): string {
  const steps =
    (reply as { report?: { steps?: Array<{ name: string; verdict: string }> } }).report?.steps ?? [];
  return steps.map((s) => `${s.name} ${s.verdict}`).join(', ');
}

export async function benchDiagnose(env: BenchEnv): Promise<Figure[]> {
  const client = env.clients?.[0];
  if (!diagnoseAvailable() || client === undefined) {
    return [
      {
        name: 'Diagnose vs the playbook by hand',
        result: 'not measured',
        goal: '>= 5x faster',
        met: null,
        method: 'The diagnose job did not exist in workers/jobs.ts when this ran.',
      },
    ];
  }
  const tg = await startTunnelgate({
    name: 'diagnose',
    redisUrl: env.redisUrl,
    logger: env.logger,
    hubs: env.hubs,
  });
  try {
    const hub = tg.config.hubs[0];
    const labHub = env.hubs[0];
    if (hub === undefined || labHub === undefined) throw new Error('diagnose needs a hub');
    // A healthy hub: one peer, provisioned by the bot, its client up and handshaking.
    const id = await request(tg, 'dave', 'laptop');
    await approveAndWait(tg, id);
    const config = await tg.waitFor((m) => m.reply.kind === 'peer.config' && m.to.type === 'user');
    if (config.message.reply.kind !== 'peer.config') throw new Error('no peer.config');
    await client.up(config.message.reply.configText);
    if (!(await client.ping(labHub.hubAddress, { count: 2, timeoutSec: 5 }))) {
      throw new Error('the lab client cannot reach the hub through the tunnel');
    }
    const record = (await tg.runtime.bot.inventory.list(hub.name))[0];
    if (record === undefined) throw new Error('the peer is not in the inventory');

    progress(`diagnose: ${SAMPLES} reports by the bot, ${BY_HAND_SAMPLES} by hand`);
    const bot: number[] = [];
    let last: unknown;
    for (let i = 0; i <= SAMPLES; i++) {
      const run = await timeReport(tg, 'diagnose', hub.name);
      // The first opens the worker's connection: not counted.
      if (i > 0) bot.push(run.ms);
      last = run.reply;
    }
    // The same reads the diagnose job makes for this hub (its plan: ping the known peer).
    const plan: ReadPlan = {
      ping: [{ publicKey: record.publicKey, address: record.address.split('/')[0] ?? record.address }],
      pmtuPeer: null,
    };
    const steps = readSteps(hub, plan);
    const person: number[] = [];
    for (let i = 0; i < BY_HAND_SAMPLES; i++) {
      let total = 0;
      for (const step of steps) {
        const run = await freshSsh(hub, step.argv, {
          ...(step.input === undefined ? {} : { input: step.input }),
          allowFail: true,
        });
        total += run.ms;
      }
      person.push(total);
    }
    await client.down();
    return [
      {
        name: 'Diagnose: full report vs the playbook by hand',
        result: `${ratio(median(person), median(bot))} faster (bot p50 ${ms(median(bot))} vs by hand ${ms(median(person))})`,
        goal: '>= 5x faster',
        met: median(person) / median(bot) >= 5,
        method: `A diagnose task on a healthy hub (one bot-provisioned peer whose lab client is up and handshaking), timed from queueing it to the arrival of its diagnose.report; vs the same ${steps.length} read commands the job batches (the plan's ping included), each run over its own fresh OpenSSH connection, one after another, summed; ratio of medians.`,
        notes: [
          `bot: ${distribution(bot)} (1 warm-up not counted); by hand: ${distribution(person)}.`,
          `The report's verdicts: ${verdicts(last)}.`,
        ],
      },
    ];
  } finally {
    await client.down().catch(() => undefined);
    await tg.stop();
  }
}

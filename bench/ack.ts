/**
 * Ack latency: how long the bot takes to give its first reply to a command while 200 commands
 * are in flight — 200 different users sending `/vpn request` at the same moment.
 */

import type { BenchEnv, Figure } from './support/figure.js';
import { progress } from './support/figure.js';
import { distribution } from './support/stats.js';
import { startTunnelgate } from './support/tunnelgate.js';

const IN_FLIGHT = 200;
const WARM_UP = 5;

export async function benchAck(env: BenchEnv): Promise<Figure[]> {
  const tg = await startTunnelgate({
    name: 'ack',
    redisUrl: env.redisUrl,
    logger: env.logger,
    hubs: env.hubs,
  });
  try {
    const alone: number[] = [];
    for (let i = 0; i < WARM_UP; i++) {
      const started = performance.now();
      await tg.run(`warm${i}`, '/vpn request laptop');
      alone.push(performance.now() - started);
    }
    progress(`ack: ${IN_FLIGHT} concurrent /vpn request`);
    const samples = await Promise.all(
      Array.from({ length: IN_FLIGHT }, async (_, i) => {
        const started = performance.now();
        const replies = await tg.run(`user${i}`, '/vpn request laptop --reason "bench"');
        const elapsed = performance.now() - started;
        if (replies[0]?.reply.kind !== 'request.pending') {
          throw new Error(`user${i} got ${replies[0]?.reply.kind ?? 'nothing'} instead of request.pending`);
        }
        return elapsed;
      }),
    );
    return [
      {
        name: 'Ack latency (200 in flight)',
        result: distribution(samples),
        goal: '-',
        met: null,
        notes: [
          `For contrast, the ${WARM_UP} warm-up commands sent one at a time just before: ${distribution(alone)}. Under 200 at once the time is queueing on one bot process and one Redis connection: each command is a handful of Redis round trips (the user's own requests come from a per-user index, not a scan).`,
        ],
        method:
          '200 `/vpn request` commands from 200 users started at once through the bot front door (handleText) of a running runtime; each timed from call to its first reply (request.pending: request recorded, expiry scheduled, audited, preview computed).',
      },
    ];
  } finally {
    await tg.stop();
  }
}

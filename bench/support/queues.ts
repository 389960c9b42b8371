/** Waiting on BullMQ queues from the bench. */
import type { Queue } from 'bullmq';

/** Resolves once none of `queues` has a waiting, active or prioritized job; rejects after `ms`. */
export async function drained(queues: readonly Queue[], ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const counts = await Promise.all(
      queues.map((q) => q.getJobCountByTypes('waiting', 'active', 'prioritized')),
    );
    if (counts.every((n) => n === 0)) return;
    if (Date.now() > deadline) throw new Error(`queues still busy after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

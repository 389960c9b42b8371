/**
 * Polling waits for integration tests. A worker posts a job's final chat reply from inside the
 * processor, so BullMQ moves the job to completed or failed a moment after the reply arrives:
 * read queue state through `jobsSettled`, never straight after `waitFor`.
 */
import type { Job, Queue } from 'bullmq';

/** Polls `check` every 200 ms; throws naming `what` once `ms` have passed. */
export async function waitUntil(
  what: string,
  ms: number,
  check: () => boolean | Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * The queue's jobs in `state` once there are at least `count` of them, or once `count` (a
 * predicate) accepts them; throws after 10 s.
 */
export async function jobsSettled(
  queue: Queue,
  state: 'completed' | 'failed',
  count: number | ((jobs: Job[]) => boolean),
): Promise<Job[]> {
  const enough = typeof count === 'number' ? (jobs: Job[]) => jobs.length >= count : count;
  let jobs: Job[] = [];
  await waitUntil(`${state} jobs on ${queue.name}`, 10_000, async () => {
    jobs = state === 'completed' ? await queue.getCompleted(0, 1000) : await queue.getFailed(0, 1000);
    return enough(jobs);
  });
  return jobs;
}

/**
 * BullMQ queues: one queue per hub (global concurrency 1, so at most one mutating job runs per hub
 * across any number of worker processes), a shared tasks queue, and the notify queue back to the
 * bot. Every payload is validated before it is added.
 */
import { type ConnectionOptions, type JobsOptions, Queue } from 'bullmq';
import type { TunnelgateConfig } from '../config/schema.js';
import type { Message } from '../domain/models/reply.js';
import type { Signer } from '../domain/signer.js';
import { signJob } from './job-mac.js';
import { HubJob, NotifyJob, QUEUE, ReplyOutlet, TaskJob } from './jobs.js';

const KEEP: JobsOptions = {
  removeOnComplete: { age: 3_600, count: 1_000 },
  removeOnFail: { age: 7 * 86_400 },
};

/**
 * Producer side of every queue, shared by the bot and the workers; every payload is signed. With
 * a reply outlet, the work it adds to run now names that outlet, so the replies come back to this
 * process (delayed work, such as a request's expiry, reports to the bot's `notify` queue).
 */
export class Queues {
  private readonly hubQueues = new Map<string, Queue>();
  private readonly replyQueues = new Map<string, Queue>();
  readonly tasks: Queue;
  readonly notifyQueue: Queue;
  readonly replyTo: string | undefined;

  constructor(
    private readonly config: TunnelgateConfig,
    private readonly connection: ConnectionOptions,
    private readonly signer: Signer,
    replyTo?: string,
  ) {
    this.replyTo = replyTo === undefined ? undefined : ReplyOutlet.parse(replyTo);
    const prefix = config.redis.prefix;
    for (const hub of config.hubs) {
      this.hubQueues.set(hub.name, new Queue(QUEUE.hub(hub.name), { connection, prefix }));
    }
    this.tasks = new Queue(QUEUE.tasks, { connection, prefix });
    this.notifyQueue = new Queue(QUEUE.notify, { connection, prefix });
  }

  /** Sets global concurrency 1 on every hub queue (idempotent; call once at start). */
  async init(): Promise<void> {
    await Promise.all([...this.hubQueues.values()].map((q) => q.setGlobalConcurrency(1)));
  }

  /** The queue of one hub. */
  hubQueue(hub: string): Queue {
    const queue = this.hubQueues.get(hub);
    if (queue === undefined) throw new Error(`no queue for hub ${hub}`);
    return queue;
  }

  /** Adds hub work. A `jobId` makes a duplicate add a no-op while the first job exists. */
  async addHub(job: HubJob, options: { delayMs?: number; jobId?: string } = {}): Promise<string> {
    const valid = HubJob.parse(job);
    const added = await this.hubQueue(valid.hub).add(
      valid.kind,
      signJob(this.signer, QUEUE.hub(valid.hub), this.stamp(valid, options.delayMs)),
      {
        ...KEEP,
        attempts: this.config.worker.attempts,
        backoff: { type: 'exponential', delay: this.config.worker.backoff },
        ...(options.jobId === undefined ? {} : { jobId: options.jobId }),
        ...(options.delayMs === undefined ? {} : { delay: options.delayMs }),
      },
    );
    return added.id ?? '';
  }

  /** Adds work that changes no hub. */
  async addTask(job: TaskJob, options: { delayMs?: number; jobId?: string } = {}): Promise<string> {
    const valid = TaskJob.parse(job);
    const added = await this.tasks.add(
      valid.kind,
      signJob(this.signer, QUEUE.tasks, this.stamp(valid, options.delayMs)),
      {
        ...KEEP,
        attempts: 3,
        backoff: { type: 'fixed', delay: 1_000 },
        ...(options.jobId === undefined ? {} : { jobId: options.jobId }),
        ...(options.delayMs === undefined ? {} : { delay: options.delayMs }),
      },
    );
    return added.id ?? '';
  }

  /** `job` naming this process's reply outlet, when it has one and the job runs now. */
  private stamp<T extends object>(job: T, delayMs: number | undefined): T {
    return this.replyTo === undefined || delayMs !== undefined ? job : { ...job, replyTo: this.replyTo };
  }

  /** The notify queue of `outlet` (`notify-<outlet>`), or the bot's (`notify`) without one. */
  repliesQueue(outlet?: string): Queue {
    if (outlet === undefined) return this.notifyQueue;
    const name = QUEUE.replies(outlet);
    let queue = this.replyQueues.get(name);
    if (queue === undefined) {
      queue = new Queue(name, { connection: this.connection, prefix: this.config.redis.prefix });
      this.replyQueues.set(name, queue);
    }
    return queue;
  }

  /**
   * Queues the config delivery of a worker message again (its `attempt`-th try) after `delayMs`;
   * only the config goes out, not the message itself a second time.
   */
  async retryConfig(message: Message, attempt: number, delayMs: number): Promise<void> {
    const valid = NotifyJob.parse({ messages: [message], configAttempt: attempt });
    await this.notifyQueue.add('config-retry', signJob(this.signer, QUEUE.notify, valid), {
      ...KEEP,
      delay: delayMs,
    });
  }

  /**
   * Queues messages for the bot, or for the reply outlet `outlet` (the process whose job this
   * answers). Refuses `peer.config` (key material is never queued).
   */
  async notify(messages: Message[], outlet?: string): Promise<void> {
    if (messages.length === 0) return;
    const valid = NotifyJob.parse({ messages });
    const queue = this.repliesQueue(outlet);
    await queue.add('notify', signJob(this.signer, queue.name, valid), {
      ...KEEP,
      attempts: 5,
      backoff: { type: 'exponential', delay: 500 },
    });
  }

  /** Keeps one periodic reconcile per hub scheduled (upsert: safe from every process). */
  async scheduleReconcile(everyMs: number): Promise<void> {
    await Promise.all(
      this.config.hubs.map((hub) =>
        this.hubQueue(hub.name).upsertJobScheduler(
          `reconcile-${hub.name}`,
          { every: everyMs },
          {
            name: 'reconcile',
            data: signJob(
              this.signer,
              QUEUE.hub(hub.name),
              HubJob.parse({ kind: 'reconcile', hub: hub.name, by: 'scheduler' }),
            ),
            opts: KEEP,
          },
        ),
      ),
    );
  }

  /**
   * One reconcile per hub now (a worker starting). The job id is per minute, so workers starting
   * together add it once.
   */
  async reconcileNow(): Promise<void> {
    const minute = Math.floor(Date.now() / 60_000);
    for (const hub of this.config.hubs) {
      await this.addHub(HubJob.parse({ kind: 'reconcile', hub: hub.name, by: 'scheduler' }), {
        jobId: `reconcile-start-${hub.name}-${minute}`,
      });
    }
  }

  /**
   * Keeps the reminder check (key age, idle peers) scheduled on the tasks queue with cron
   * `pattern` (`policy.reminderCron`). An upsert: however many processes call it, there is one
   * scheduler, so one check per tick.
   */
  async scheduleReminders(pattern: string): Promise<void> {
    await this.tasks.upsertJobScheduler(
      'reminders',
      { pattern },
      {
        name: 'reminder-check',
        data: signJob(this.signer, QUEUE.tasks, TaskJob.parse({ kind: 'reminder-check' })),
        opts: { ...KEEP, attempts: 3 },
      },
    );
  }

  /**
   * Keeps the access review check (workers/review-check.ts: `policy.reviewEvery`, reminders, the
   * due date) scheduled with cron `pattern`, as a fallback to each review's own delayed checks.
   */
  async scheduleReviews(pattern: string): Promise<void> {
    await this.tasks.upsertJobScheduler(
      'reviews',
      { pattern },
      {
        name: 'review-check',
        data: signJob(this.signer, QUEUE.tasks, TaskJob.parse({ kind: 'review-check' })),
        opts: { ...KEEP, attempts: 3 },
      },
    );
  }

  async close(): Promise<void> {
    const all = [...this.hubQueues.values(), ...this.replyQueues.values(), this.tasks, this.notifyQueue];
    await Promise.all(all.map((q) => q.close()));
  }
}

/** Whether the config's hub list is served by these queues. */
export function hubNames(config: TunnelgateConfig): string[] {
  return config.hubs.map((h) => h.name);
}

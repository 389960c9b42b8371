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
import { HubJob, NotifyJob, QUEUE, TaskJob } from './jobs.js';

const KEEP: JobsOptions = {
  removeOnComplete: { age: 3_600, count: 1_000 },
  removeOnFail: { age: 7 * 86_400 },
};

/** Producer side of every queue, shared by the bot and the workers; every payload is signed. */
export class Queues {
  private readonly hubQueues = new Map<string, Queue>();
  readonly tasks: Queue;
  readonly notifyQueue: Queue;

  constructor(
    private readonly config: TunnelgateConfig,
    connection: ConnectionOptions,
    private readonly signer: Signer,
  ) {
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
      signJob(this.signer, QUEUE.hub(valid.hub), valid),
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
    const added = await this.tasks.add(valid.kind, signJob(this.signer, QUEUE.tasks, valid), {
      ...KEEP,
      attempts: 3,
      backoff: { type: 'fixed', delay: 1_000 },
      ...(options.jobId === undefined ? {} : { jobId: options.jobId }),
      ...(options.delayMs === undefined ? {} : { delay: options.delayMs }),
    });
    return added.id ?? '';
  }

  /** Queues messages for the bot. Refuses `peer.config` (key material is never queued). */
  async notify(messages: Message[]): Promise<void> {
    if (messages.length === 0) return;
    const valid = NotifyJob.parse({ messages });
    await this.notifyQueue.add('notify', signJob(this.signer, QUEUE.notify, valid), {
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

  async close(): Promise<void> {
    await Promise.all([...this.hubQueues.values(), this.tasks, this.notifyQueue].map((q) => q.close()));
  }
}

/** Whether the config's hub list is served by these queues. */
export function hubNames(config: TunnelgateConfig): string[] {
  return config.hubs.map((h) => h.name);
}

/**
 * Slack allows about one message per second per channel (short bursts tolerated). The pacer runs
 * posts to one channel one after another, starting each at least `minIntervalMs` after the
 * previous one started; different channels do not wait for each other. A 429 that still happens
 * is retried by the Web API client after its Retry-After (see `app.ts`).
 */
export interface PacerOptions {
  /** Minimum gap between two posts to the same channel (default 1000 ms). */
  minIntervalMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export class ChannelPacer {
  private readonly tails = new Map<string, Promise<unknown>>();
  private readonly lastStart = new Map<string, number>();
  private readonly minIntervalMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: PacerOptions = {}) {
    this.minIntervalMs = options.minIntervalMs ?? 1_000;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Runs `post` after the channel's earlier posts, paced; resolves or rejects with its result. */
  run<T>(channel: string, post: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(channel) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(async () => {
        const last = this.lastStart.get(channel);
        if (last !== undefined) {
          const wait = last + this.minIntervalMs - this.now();
          if (wait > 0) await this.sleep(wait);
        }
        this.lastStart.set(channel, this.now());
        return post();
      });
    this.tails.set(channel, next);
    const forget = () => {
      if (this.tails.get(channel) === next) this.tails.delete(channel);
    };
    next.then(forget, forget);
    return next;
  }
}

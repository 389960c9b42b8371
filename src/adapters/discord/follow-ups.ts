/**
 * Interactions whose later results may still arrive as follow-ups. Discord keeps an interaction
 * token valid for 15 minutes; a job that reports after that (or after a restart, since this is
 * process memory) is answered by DM instead.
 */
import type { RepliableInteraction } from 'discord.js';

/** Follow-ups stop a minute before the token's 15 minutes run out. */
export const FOLLOW_UP_WINDOW_MS = 14 * 60_000;

interface Tracked {
  interaction: RepliableInteraction;
  until: number;
}

export class FollowUps {
  private readonly byJob = new Map<string, Tracked>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Remembers that `jobId`'s results belong to `interaction` (answered or deferred already). */
  track(jobId: string, interaction: RepliableInteraction): void {
    this.prune();
    this.byJob.set(jobId, { interaction, until: interaction.createdTimestamp + FOLLOW_UP_WINDOW_MS });
  }

  /** The interaction to follow up for a job's message to `userId`, while its token is still valid. */
  find(jobId: string | undefined, userId: string): RepliableInteraction | null {
    if (jobId === undefined) return null;
    const tracked = this.byJob.get(jobId);
    if (tracked === undefined || tracked.until <= this.now() || tracked.interaction.user.id !== userId)
      return null;
    return tracked.interaction;
  }

  /** Forgets a job once its final message was delivered. */
  forget(jobId: string): void {
    this.byJob.delete(jobId);
  }

  private prune(): void {
    const now = this.now();
    for (const [jobId, tracked] of this.byJob) if (tracked.until <= now) this.byJob.delete(jobId);
  }
}

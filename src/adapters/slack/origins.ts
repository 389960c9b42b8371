/**
 * Where a command came from (user, channel, response_url), remembered per job so the job's later
 * messages to that user answer where the command was typed: ephemeral there when private, in the
 * channel when not. Kept 30 minutes, as long as Slack honours a response_url.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { SlackKeys } from './keys.js';

export const Origin = z.object({
  user: z.string(),
  channel: z.string(),
  responseUrl: z.string().optional(),
});
export type Origin = z.infer<typeof Origin>;

const ORIGIN_TTL_SEC = 30 * 60;

export class OriginStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: SlackKeys,
  ) {}

  async remember(jobId: string, origin: Origin): Promise<void> {
    await this.redis.set(this.keys.origin(jobId), JSON.stringify(origin), 'EX', ORIGIN_TTL_SEC);
  }

  async find(jobId: string): Promise<Origin | undefined> {
    const raw = await this.redis.get(this.keys.origin(jobId));
    if (raw === null) return undefined;
    const parsed = Origin.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  }
}

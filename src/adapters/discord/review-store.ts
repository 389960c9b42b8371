/**
 * Where each request's review message was posted (channel + message id, one per lead DM or the
 * approvals channel) and the review it showed, so the message can be edited as the request moves.
 * Public data only: the review holds the request and its change preview, never a key.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { Reply } from '../../domain/models/reply.js';

export const PostedMessage = z.object({ channelId: z.string(), messageId: z.string() });
export type PostedMessage = z.infer<typeof PostedMessage>;

const ReviewReply = Reply.refine((r) => r.kind === 'request.review');
type Review = Extract<Reply, { kind: 'request.review' }>;

/** Records live 30 days: longer than any request stays pending (policy.requestTtl is 72h by default). */
const TTL_SECONDS = 30 * 86_400;

export class ReviewStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(requestId: string): string {
    return `${this.prefix}:discord:review:${requestId}`;
  }

  /** Remembers a posted review message of a request. */
  async add(review: Review, posted: PostedMessage): Promise<void> {
    const key = this.key(review.request.id);
    await this.redis
      .multi()
      .hset(key, 'review', JSON.stringify(review), `msg:${posted.channelId}:${posted.messageId}`, '1')
      .expire(key, TTL_SECONDS)
      .exec();
  }

  /** The review and its posted messages; null when none was posted for the request. */
  async get(requestId: string): Promise<{ review: Review; messages: PostedMessage[] } | null> {
    const record = await this.redis.hgetall(this.key(requestId));
    if (record.review === undefined) return null;
    const review = ReviewReply.parse(JSON.parse(record.review)) as Review;
    const messages = Object.keys(record)
      .filter((field) => field.startsWith('msg:'))
      .map((field) => {
        const [, channelId = '', messageId = ''] = field.split(':');
        return PostedMessage.parse({ channelId, messageId });
      });
    return { review, messages };
  }
}

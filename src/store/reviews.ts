/**
 * Access reviews in Redis (`<prefix>:review:<id>`, ordered in `<prefix>:reviews`), with the id of
 * the one open review in `<prefix>:review-open`: opening takes it atomically, so two starts at
 * once (two leads, a lead and the schedule) open one review. Reviews are evidence: no TTL.
 * Also the set of users who left, whose peers the leads review.
 */
import type { Redis } from 'ioredis';
import { TunnelgateError } from '../core/errors.js';
import type { HubName, ReviewId } from '../core/ids.js';
import { Review, type ReviewItem } from '../domain/models/review.js';
import { newReview } from '../domain/review.js';
import type { InventoryStore } from './inventory.js';
import { type Change, JsonRecords } from './json-record.js';
import type { RedisKeys } from './keys.js';
import { COMPARE_AND_DELETE } from './scripts.js';

/**
 * KEYS[1] = the open pointer, KEYS[2] = the new record, KEYS[3] = the ordered set. ARGV[1] = id,
 * ARGV[2] = JSON, ARGV[3] = start time (ms), ARGV[4] = the record key prefix. Returns the id of
 * a review still open (nothing written), or '' once the new one is stored and open.
 */
const OPEN_REVIEW = `local open = redis.call('GET', KEYS[1])
if open then
  local raw = redis.call('GET', ARGV[4] .. open)
  if raw and cjson.decode(raw).state == 'open' then return open end
end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return ''`;

/** What a review is started with. */
export interface ReviewStart {
  id: ReviewId;
  startedBy: string;
  now: Date;
  dueMs: number;
  hub?: HubName | undefined;
  /** Every hub the review covers. */
  hubs: readonly string[];
}

export class ReviewStore {
  private readonly records: JsonRecords<typeof Review>;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {
    this.records = new JsonRecords(redis, Review, 'review');
  }

  /**
   * Snapshots the inventory of `start.hubs` into a new open review. Throws CONFLICT when a review
   * is open already (nothing is written then).
   */
  async start(inventory: InventoryStore, start: ReviewStart): Promise<Review> {
    const [records, departed] = await Promise.all([
      inventory.listAll(start.hubs),
      this.redis.smembers(this.keys.departed),
    ]);
    const review = newReview({ ...start, records, departed: new Set(departed) });
    const open = await this.redis.eval(
      OPEN_REVIEW,
      3,
      this.keys.reviewOpen,
      this.keys.review(review.id),
      this.keys.reviews,
      review.id,
      JSON.stringify(Review.parse(review)),
      String(start.now.getTime()),
      this.keys.review(''),
    );
    if (typeof open === 'string' && open !== '') {
      throw new TunnelgateError('CONFLICT', `review ${open} is still open; one review runs at a time`, {
        hint: `follow it with /vpn review status; it closes at its due date`,
      });
    }
    return review;
  }

  /** The review, or null when there is none with that id. */
  find(id: string): Promise<Review | null> {
    return this.records.get(this.keys.review(id));
  }

  /** The open review, or null. */
  async open(): Promise<Review | null> {
    const id = await this.redis.get(this.keys.reviewOpen);
    const review = id === null ? null : await this.find(id);
    return review?.state === 'open' ? review : null;
  }

  /** The most recently started review, or null when there has been none. */
  async latest(): Promise<Review | null> {
    const [id] = await this.redis.zrange(this.keys.reviews, '-1', '-1');
    return id === undefined ? null : this.find(id);
  }

  /** Applies a change atomically (it may throw to refuse). Throws NOT_FOUND for an unknown id. */
  async update(id: string, change: (current: Review) => Change<Review>): Promise<Review> {
    const outcome = await this.records.update(this.keys.review(id), change);
    if (outcome.status === 'missing') throw new TunnelgateError('NOT_FOUND', `there is no review ${id}`);
    if (outcome.value.state === 'closed')
      await this.redis.eval(COMPARE_AND_DELETE, 1, this.keys.reviewOpen, id);
    return outcome.value;
  }

  /** Records that a review's peer was removed from its hub (by the revoke job). */
  async markRemoved(id: string, match: (item: ReviewItem) => boolean, now: Date): Promise<void> {
    await this.update(id, (current) => {
      const index = current.items.findIndex((i) => match(i) && i.outcome === 'revoke-queued');
      if (index < 0) return { keep: true };
      const items = current.items.map((item, n) =>
        n === index ? { ...item, outcome: 'revoked' as const, outcomeAt: now.toISOString() } : item,
      );
      return { write: { ...current, items } };
    });
  }

  /** Notes that `user` left the platform: their peers go to the leads in the next review. */
  async markDeparted(user: string): Promise<void> {
    await this.redis.sadd(this.keys.departed, user);
  }
}

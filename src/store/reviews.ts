/**
 * Access reviews in Redis: the review itself in `<prefix>:review:<id>` (compare-and-set), its
 * peers in the hash `<prefix>:review-items:<id>` (one field per peer, so answers from many owners
 * at once never contend), the ids by start time in `<prefix>:reviews`, and the id of the one open
 * review in `<prefix>:review-open`: opening takes it atomically, so two starts at once (two leads,
 * a lead and the schedule) open one review. An answer is written only while the review is open,
 * in the same script that checks it. Reviews are evidence: no TTL. Also the set of users who left,
 * whose peers the leads review.
 */
import type { Redis } from 'ioredis';
import { TunnelgateError } from '../core/errors.js';
import type { HubName, ReviewId } from '../core/ids.js';
import { type Review, ReviewHeader, ReviewItem } from '../domain/models/review.js';
import { newReview } from '../domain/review.js';
import type { InventoryStore } from './inventory.js';
import { type Change, JsonRecords } from './json-record.js';
import type { RedisKeys } from './keys.js';
import { COMPARE_AND_DELETE } from './scripts.js';

/**
 * KEYS[1] = the open pointer, KEYS[2] = the new review, KEYS[3] = its items, KEYS[4] = the
 * ordered set. ARGV[1] = id, ARGV[2] = review JSON, ARGV[3] = start (ms), ARGV[4] = the review key
 * prefix, ARGV[5..] = peer, item JSON pairs. Returns the id of a review still open (nothing
 * written), or '' once the new one is stored and open.
 */
const OPEN_REVIEW = `local open = redis.call('GET', KEYS[1])
if open then
  local raw = redis.call('GET', ARGV[4] .. open)
  if raw and cjson.decode(raw).state == 'open' then return open end
end
redis.call('SET', KEYS[2], ARGV[2])
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
return ''`;

/**
 * KEYS[1] = the review, KEYS[2] = its items. ARGV[1] = peer, ARGV[2] = the item JSON read,
 * ARGV[3] = the JSON to write, ARGV[4] = `open` to write only while the review is open. Returns
 * 1 when written, 0 when the item changed in between, -1 when the review is not open.
 */
const SET_ITEM = `if ARGV[4] == 'open' then
  local raw = redis.call('GET', KEYS[1])
  if not raw or cjson.decode(raw).state ~= 'open' then return -1 end
end
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 1`;

const MAX_ATTEMPTS = 50;

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
  private readonly headers: JsonRecords<typeof ReviewHeader>;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {
    this.headers = new JsonRecords(redis, ReviewHeader, 'review');
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
    const { items, ...header } = newReview({ ...start, records, departed: new Set(departed) });
    const open = await this.redis.eval(
      OPEN_REVIEW,
      4,
      this.keys.reviewOpen,
      this.keys.review(header.id),
      this.itemsKey(header.id),
      this.keys.reviews,
      header.id,
      JSON.stringify(ReviewHeader.parse(header)),
      String(start.now.getTime()),
      this.keys.review(''),
      ...items.flatMap((item) => [item.peer, JSON.stringify(ReviewItem.parse(item))]),
    );
    if (typeof open === 'string' && open !== '') {
      throw new TunnelgateError('CONFLICT', `review ${open} is still open; one review runs at a time`, {
        hint: 'follow it with /vpn review status; it closes at its due date',
      });
    }
    return { ...header, items };
  }

  /** The review with its items (by hub and peer), or null when there is none with that id. */
  async find(id: string): Promise<Review | null> {
    const header = await this.headers.get(this.keys.review(id));
    if (header === null) return null;
    const items = (await this.redis.hvals(this.itemsKey(id)))
      .map((raw) => ReviewItem.parse(JSON.parse(raw)))
      .sort((a, b) => a.hub.localeCompare(b.hub) || a.peer.localeCompare(b.peer));
    return { ...header, items };
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

  /** Changes the review (not its items) atomically. Throws NOT_FOUND for an unknown id. */
  async updateHeader(
    id: string,
    change: (current: ReviewHeader) => Change<ReviewHeader>,
  ): Promise<ReviewHeader> {
    const outcome = await this.headers.update(this.keys.review(id), change);
    if (outcome.status === 'missing') throw new TunnelgateError('NOT_FOUND', `there is no review ${id}`);
    if (outcome.value.state === 'closed')
      await this.redis.eval(COMPARE_AND_DELETE, 1, this.keys.reviewOpen, id);
    return outcome.value;
  }

  /**
   * Changes one peer's item atomically (`change` may throw to refuse; null leaves it). With
   * `whileOpen`, the write happens only while the review is open: a closed review makes the change
   * run again on the closed review (which an answer refuses). Throws NOT_FOUND for a peer not in it.
   */
  async updateItem(
    id: string,
    peer: string,
    change: (item: ReviewItem, review: ReviewHeader) => ReviewItem | null,
    whileOpen = false,
  ): Promise<ReviewItem> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const [header, raw] = await Promise.all([
        this.headers.get(this.keys.review(id)),
        this.redis.hget(this.itemsKey(id), peer),
      ]);
      if (header === null) throw new TunnelgateError('NOT_FOUND', `there is no review ${id}`);
      if (raw === null) {
        throw new TunnelgateError('NOT_FOUND', `${peer} is not in review ${id}`, {
          hint: 'see the peers under review with /vpn review status',
        });
      }
      const item = ReviewItem.parse(JSON.parse(raw));
      const next = change(item, header);
      if (next === null) return item;
      const json = JSON.stringify(ReviewItem.parse(next));
      const written = await this.redis.eval(
        SET_ITEM,
        2,
        this.keys.review(id),
        this.itemsKey(id),
        peer,
        raw,
        json,
        whileOpen ? 'open' : '',
      );
      if (written === 1) return next;
    }
    throw new TunnelgateError(
      'CONFLICT',
      `the review of ${peer} is being changed by someone else; try again`,
    );
  }

  /** Records that a review's peer was removed from its hub (by the revoke job), or was not (`failed`). */
  async markRemoved(id: string, peer: string, now: Date, failed = false): Promise<void> {
    await this.updateItem(id, peer, (item) =>
      item.outcome === 'revoke-queued'
        ? { ...item, outcome: failed ? 'revoke-failed' : 'revoked', outcomeAt: now.toISOString() }
        : null,
    );
  }

  /** Notes that `user` left the platform: their peers go to the leads in the next review. */
  async markDeparted(user: string): Promise<void> {
    await this.redis.sadd(this.keys.departed, user);
  }

  private itemsKey(id: string): string {
    return this.keys.reviewItems(id);
  }
}

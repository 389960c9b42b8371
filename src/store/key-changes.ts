/** Key changes waiting for leads (`<prefix>:keychange:<id>`), kept two weeks for late answers. */
import type { Redis } from 'ioredis';
import { TunnelgateError } from '../core/errors.js';
import { KeyChange } from '../domain/models/key-change.js';
import { type Change, JsonRecords } from './json-record.js';
import type { RedisKeys } from './keys.js';

const KEEP_SEC = 14 * 86_400;

export class KeyChangeStore {
  private readonly records: JsonRecords<typeof KeyChange>;

  constructor(
    redis: Redis,
    private readonly keys: RedisKeys,
  ) {
    this.records = new JsonRecords(redis, KeyChange, 'key change');
  }

  /** Stores a new key change. Throws CONFLICT when the id is taken. */
  async create(change: KeyChange): Promise<void> {
    if (!(await this.records.create(this.keys.keyChange(change.id), change, KEEP_SEC))) {
      throw new TunnelgateError('CONFLICT', `key change id ${change.id} is already taken`);
    }
  }

  find(id: string): Promise<KeyChange | null> {
    return this.records.get(this.keys.keyChange(id));
  }

  /** Applies a decision atomically; throws NOT_FOUND for an unknown id. */
  async update(id: string, change: (current: KeyChange) => Change<KeyChange>): Promise<KeyChange> {
    const outcome = await this.records.update(this.keys.keyChange(id), change);
    if (outcome.status === 'missing') throw new TunnelgateError('NOT_FOUND', `there is no key change ${id}`);
    return outcome.value;
  }
}

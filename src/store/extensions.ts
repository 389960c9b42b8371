/**
 * Extension requests (`/vpn extend`) in Redis (`<prefix>:ext:<id>`), kept a while after they were
 * decided or left pending so a late approve gets a clear answer.
 */
import type { Redis } from 'ioredis';
import { TunnelgateError } from '../core/errors.js';
import { Extension } from '../domain/models/extension.js';
import { type Change, JsonRecords } from './json-record.js';
import type { RedisKeys } from './keys.js';

/** Records are kept this long (seconds) after they were made. */
const KEEP_SEC = 14 * 86_400;

export class ExtensionStore {
  private readonly records: JsonRecords<typeof Extension>;

  constructor(
    redis: Redis,
    private readonly keys: RedisKeys,
  ) {
    this.records = new JsonRecords(redis, Extension, 'extension');
  }

  /** Stores a new extension request. Throws CONFLICT when the id is taken. */
  async create(extension: Extension): Promise<void> {
    if (!(await this.records.create(this.keys.extension(extension.id), extension, KEEP_SEC))) {
      throw new TunnelgateError('CONFLICT', `extension id ${extension.id} is already taken`);
    }
  }

  /** The extension, or null when unknown or long gone. */
  find(id: string): Promise<Extension | null> {
    return this.records.get(this.keys.extension(id));
  }

  /**
   * Applies a decision atomically (`change` may throw to refuse; nothing is written then). Throws
   * NOT_FOUND when there is no such extension.
   */
  async update(id: string, change: (current: Extension) => Change<Extension>): Promise<Extension> {
    const outcome = await this.records.update(this.keys.extension(id), change);
    if (outcome.status === 'missing')
      throw new TunnelgateError('NOT_FOUND', `there is no extension request ${id}`);
    return outcome.value;
  }
}

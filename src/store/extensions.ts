/**
 * Requests to extend time-bound access (`/vpn extend`), in Redis (`<prefix>:ext:<id>`). They use
 * request-style ids, so leads decide them with the same `/vpn approve <id>` and `/vpn deny <id>`.
 * A record expires from Redis a while after it was decided or left pending.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { TunnelgateError } from '../core/errors.js';
import { HubName, PeerName, RequestId, UserId } from '../core/ids.js';

export const ExtensionState = z.enum(['pending', 'approved', 'denied']);
export type ExtensionState = z.infer<typeof ExtensionState>;

export const Extension = z.object({
  id: RequestId,
  /** The access request of the time-bound peer. */
  requestId: RequestId,
  peer: PeerName,
  hub: HubName,
  owner: UserId,
  /** Who asked; never the approver. */
  requester: UserId,
  /** How much longer, in ms, counted from the expiry in force when it is approved. */
  forMs: z.number().int().positive(),
  state: ExtensionState,
  createdAt: z.string(),
  decidedBy: UserId.optional(),
  /** The new expiry, once approved (ISO). */
  expiresAt: z.string().optional(),
});
export type Extension = z.infer<typeof Extension>;

/** Records are kept this long (seconds) so a late approve gets a clear answer. */
const KEEP_SEC = 14 * 86_400;

const COMPARE_AND_SET = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0`;

export class ExtensionStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(id: string): string {
    return `${this.prefix}:ext:${id}`;
  }

  /** Stores a new extension request. Throws CONFLICT when the id is taken. */
  async create(extension: Extension): Promise<void> {
    const valid = Extension.parse(extension);
    const done = await this.redis.set(this.key(valid.id), JSON.stringify(valid), 'EX', KEEP_SEC, 'NX');
    if (done !== 'OK') throw new TunnelgateError('CONFLICT', `extension id ${valid.id} is already taken`);
  }

  async find(id: string): Promise<Extension | null> {
    const raw = await this.redis.get(this.key(id));
    return raw === null ? null : Extension.parse(JSON.parse(raw));
  }

  /**
   * Moves a pending extension to `approved` or `denied` exactly once: of two leads deciding at the
   * same moment, one wins and the other gets CONFLICT. Throws NOT_FOUND when there is none.
   */
  async decide(id: string, change: (current: Extension) => Extension): Promise<Extension> {
    const key = this.key(id);
    for (let attempt = 0; attempt < 50; attempt++) {
      const raw = await this.redis.get(key);
      if (raw === null) throw new TunnelgateError('NOT_FOUND', `there is no extension request ${id}`);
      const current = Extension.parse(JSON.parse(raw));
      if (current.state !== 'pending') {
        throw new TunnelgateError('CONFLICT', `extension ${id} was already ${current.state}`, {
          hint: `ask for another with /vpn extend ${current.peer} <duration>`,
        });
      }
      const next = JSON.stringify(Extension.parse(change(current)));
      if ((await this.redis.eval(COMPARE_AND_SET, 1, key, raw, next, String(KEEP_SEC))) === 1) {
        return Extension.parse(JSON.parse(next));
      }
    }
    throw new TunnelgateError('CONFLICT', `extension ${id} is being decided by someone else; try again`);
  }
}

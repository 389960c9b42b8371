/**
 * Key rotations in progress, one per peer, in Redis (`<prefix>:rot:<hub>:<peer>`). The record is
 * the durable state of the rotation state machine, so a crashed worker resumes (or rolls back) from
 * whatever step it reached. It holds public material only: a generated private key is sealed under
 * {@link rotationSealId} until its config is delivered.
 *
 *   staging -> staged -> moved -> (record deleted: done)
 *   staging | staged -> (record deleted: rolled back)
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { TunnelgateError } from '../core/errors.js';
import { HubName, KeyChangeId, PeerName, RequestId, UserId } from '../core/ids.js';
import { Gate } from '../domain/gate.js';
import { TunnelMode } from '../domain/models/request.js';
import { PublicKey } from '../wg/keys.js';

/**
 * staging: recorded by the bot, the new key is not on the hub yet. staged: the new key is on the
 * hub without AllowedIPs (and in its config file), waiting for its first handshake. moved: the
 * address moved to the new key on the live interface; the config file and the old key still have
 * to follow.
 */
export const RotationState = z.enum(['staging', 'staged', 'moved']);
export type RotationState = z.infer<typeof RotationState>;

export const RotationRecord = z.object({
  hub: HubName,
  peer: PeerName,
  owner: UserId,
  requestId: RequestId,
  /** Who asked for the rotation (the owner or a lead), with the platform roles they held. */
  by: UserId,
  byRoles: z.array(z.string()).default([]),
  /**
   * The gate a key supplied by someone but the owner passed (a `k-` key change); the worker
   * verifies it before the key goes on the hub.
   */
  approval: z.object({ id: KeyChangeId, gate: Gate }).optional(),
  oldPublicKey: PublicKey,
  newPublicKey: PublicKey,
  /** True when the bot generated the new key pair and must deliver the private key. */
  generatedKey: z.boolean(),
  address: z.string(),
  address6: z.string().optional(),
  /** The peer's other AllowedIPs (an adopted gateway's LAN), moved to the new key with its address. */
  routes: z.array(z.string()).optional(),
  mode: TunnelMode,
  state: RotationState,
  createdAt: z.string(),
  /** When an unproven new key is rolled back (ISO); set when the key is staged. */
  deadline: z.string().optional(),
  /** The hub interface's public key, for the new client config; set when staged. */
  hubPublicKey: z.string().optional(),
});
export type RotationRecord = z.infer<typeof RotationRecord>;

/** The `keys.sealedKey` id under which a rotation's generated private key waits for delivery. */
export function rotationSealId(hub: string, peer: string): string {
  return `rot-${hub}-${peer}`;
}

/** Sets KEYS[1] to ARGV[2] only if it still holds ARGV[1]. */
const COMPARE_AND_SET = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0`;

/** Deletes KEYS[1] only if it still holds ARGV[1]. */
const COMPARE_AND_DELETE = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

export class RotationStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(hub: string, peer: string): string {
    return `${this.prefix}:rot:${hub}:${peer}`;
  }

  /** Records a new rotation; false when the peer already has one in progress. */
  async create(record: RotationRecord): Promise<boolean> {
    const valid = RotationRecord.parse(record);
    const done = await this.redis.set(this.key(valid.hub, valid.peer), JSON.stringify(valid), 'NX');
    return done === 'OK';
  }

  async find(hub: string, peer: string): Promise<RotationRecord | null> {
    const raw = await this.redis.get(this.key(hub, peer));
    return raw === null ? null : RotationRecord.parse(JSON.parse(raw));
  }

  /**
   * Applies `change` atomically (compare-and-set, retried on a concurrent write). Returns the new
   * record, or null when there is no rotation. Throws CONFLICT after too many concurrent writes.
   */
  async update(
    hub: string,
    peer: string,
    change: (current: RotationRecord) => RotationRecord,
  ): Promise<RotationRecord | null> {
    const key = this.key(hub, peer);
    for (let attempt = 0; attempt < 50; attempt++) {
      const raw = await this.redis.get(key);
      if (raw === null) return null;
      const next = RotationRecord.parse(change(RotationRecord.parse(JSON.parse(raw))));
      if ((await this.redis.eval(COMPARE_AND_SET, 1, key, raw, JSON.stringify(next))) === 1) return next;
    }
    throw new TunnelgateError('CONFLICT', `the rotation of ${peer} is being changed by someone else`);
  }

  /** Ends a rotation (done or rolled back) if it is still the one with `newPublicKey`. */
  async finish(hub: string, peer: string, newPublicKey: string): Promise<void> {
    const key = this.key(hub, peer);
    const raw = await this.redis.get(key);
    if (raw === null) return;
    if (RotationRecord.parse(JSON.parse(raw)).newPublicKey !== newPublicKey) return;
    await this.redis.eval(COMPARE_AND_DELETE, 1, key, raw);
  }
}

/**
 * Key rotations in progress, one per peer, in Redis (`keys.rotation`). The record is
 * the durable state of the rotation state machine, so a crashed worker resumes (or rolls back) from
 * whatever step it reached. It holds public material only: a generated private key is sealed under
 * {@link rotationSealId} until its config is delivered.
 *
 *   staging -> staged -> moved -> (record deleted: done)
 *   staging | staged -> (record deleted: rolled back)
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { HubName, KeyChangeId, PeerName, RequestId, UserId } from '../core/ids.js';
import { Gate } from '../domain/gate.js';
import { TunnelMode } from '../domain/models/request.js';
import { PublicKey } from '../wg/keys.js';
import { JsonRecords } from './json-record.js';
import type { RedisKeys } from './keys.js';

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

/** Rotations in progress, as compare-and-set JSON records (keys from {@link RedisKeys.rotation}). */
export class RotationStore {
  private readonly records: JsonRecords<typeof RotationRecord>;

  constructor(
    redis: Redis,
    private readonly keys: RedisKeys,
  ) {
    this.records = new JsonRecords(redis, RotationRecord, 'rotation');
  }

  /** Records a new rotation; false when the peer already has one in progress. */
  async create(record: RotationRecord): Promise<boolean> {
    return this.records.create(this.keys.rotation(record.hub, record.peer), record);
  }

  async find(hub: string, peer: string): Promise<RotationRecord | null> {
    return this.records.get(this.keys.rotation(hub, peer));
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
    const outcome = await this.records.update(this.keys.rotation(hub, peer), (current) => ({
      write: change(current),
    }));
    return outcome.status === 'missing' ? null : outcome.value;
  }

  /** Ends a rotation (done or rolled back) if it is still the one with `newPublicKey`. */
  async finish(hub: string, peer: string, newPublicKey: string): Promise<void> {
    await this.records.deleteIf(
      this.keys.rotation(hub, peer),
      (current) => current.newPublicKey === newPublicKey,
    );
  }
}

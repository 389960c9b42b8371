/**
 * The last reconcile's summary of each hub (`<prefix>:drift:<hub>`): the foreign peers and the
 * overlapping AllowedIPs it found. Request previews and approval cards read it, so a lead
 * approving on a drifted hub sees so; a reconcile that finds neither clears it.
 */
import type { Redis } from 'ioredis';
import { HubDrift } from '../domain/models/reply.js';
import type { RedisKeys } from './keys.js';

/** Stores `drift`, or clears the hub's summary when it has neither foreign peers nor overlaps. */
export async function saveDrift(redis: Redis, keys: RedisKeys, drift: HubDrift): Promise<void> {
  const valid = HubDrift.parse(drift);
  if (valid.foreign.length === 0 && valid.overlaps.length === 0) {
    await redis.del(keys.drift(valid.hub));
    return;
  }
  await redis.set(keys.drift(valid.hub), JSON.stringify(valid));
}

/** The hub's last drift summary; null when the last reconcile found none (or none ran yet). */
export async function loadDrift(redis: Redis, keys: RedisKeys, hub: string): Promise<HubDrift | null> {
  const raw = await redis.get(keys.drift(hub));
  if (raw === null) return null;
  const parsed = HubDrift.safeParse(JSON.parse(raw));
  return parsed.success ? parsed.data : null;
}

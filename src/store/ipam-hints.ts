/**
 * The per-subnet allocation hints (`<prefix>:ipam-hints:<hub>`): the lowest offset in each subnet
 * that may still be free. Lowered whenever an address is freed (a claim released, a reservation
 * dropped), so the freed address is offered again.
 */
import type { Redis } from 'ioredis';
import { cidrRange, parseAddress, parseCidr } from '../wg/cidr.js';
import type { RedisKeys } from './keys.js';

/** Lowers the hint of every subnet of `hub` that contains `address` (bare or `/32`, `/128`) to it. */
export async function lowerHints(redis: Redis, keys: RedisKeys, hub: string, address: string): Promise<void> {
  const freed = parseAddress(address.split('/')[0] ?? '');
  const hints = await redis.hgetall(keys.ipamHints(hub));
  for (const [subnet, hint] of Object.entries(hints)) {
    const cidr = parseCidr(subnet);
    const { first, last } = cidrRange(cidr);
    if (cidr.family !== freed.family || freed.value < first || freed.value > last) continue;
    const offset = Number(freed.value - first);
    if (offset < Number(hint)) await redis.hset(keys.ipamHints(hub), subnet, String(offset));
  }
}

/**
 * Reservations: addresses and routes on a hub that a peer Tunnelgate does not manage holds (a peer
 * added by hand, by another tool, or seen holding an address when the hub refused a change). They
 * live in one hash per hub (`<prefix>:reserved:<hub>`, see keys.ts), CIDR -> holder public key,
 * and no allocation ever offers an address inside one (store/inventory.ts `claimAddress` skips
 * them). The hub stays the authority: its guarded programs refuse an overlap whatever Redis says;
 * a reservation only keeps the bot from offering the same held address again.
 *
 * API (plain functions, so any worker or command can use them with its own Redis and keys):
 * - `reserve(redis, keys, hub, cidr, holder)`: records that `holder` holds `cidr` (idempotent;
 *   a later holder replaces the earlier one).
 * - `reservedOn(redis, keys, hub)`: every reservation of the hub, sorted by CIDR.
 * - `release(redis, keys, hub, cidr)`: drops one reservation; the address is offered again.
 * - `releaseHolder(redis, keys, hub, holder)`: drops every reservation of one holder (a foreign
 *   peer removed by hand, or adopted).
 */
import type { Redis } from 'ioredis';
import { TunnelgateError } from '../core/errors.js';
import { formatCidr, tryParseAddress, tryParseCidr } from '../wg/cidr.js';
import { lowerHints } from './ipam-hints.js';
import type { RedisKeys } from './keys.js';

/** One reserved address or route: `cidr` normalised (`10.6.0.2/32`, `fd00:6::2/128`). */
export interface Reservation {
  cidr: string;
  /** The public key of the peer holding it. */
  holder: string;
}

/**
 * The normal form of an address or block (host bits cleared, bare addresses as `/32` or `/128`),
 * the field name of a reservation. Throws INPUT_INVALID on anything else.
 */
export function normalizeCidr(text: string): string {
  const address = tryParseAddress(text);
  if (address !== null) {
    return formatCidr({
      family: address.family,
      network: address.value,
      prefix: address.family === 4 ? 32 : 128,
    });
  }
  const cidr = tryParseCidr(text);
  if (cidr === null)
    throw new TunnelgateError('INPUT_INVALID', `${JSON.stringify(text)} is not an IP address or CIDR`);
  return formatCidr(cidr);
}

/** Reserves `cidr` on `hub` for `holder` (a public key). Idempotent. */
export async function reserve(
  redis: Redis,
  keys: RedisKeys,
  hub: string,
  cidr: string,
  holder: string,
): Promise<void> {
  await redis.hset(keys.reservations(hub), normalizeCidr(cidr), holder);
}

/** Every reservation on `hub`, sorted by CIDR text. */
export async function reservedOn(redis: Redis, keys: RedisKeys, hub: string): Promise<Reservation[]> {
  const all = await redis.hgetall(keys.reservations(hub));
  return Object.entries(all)
    .map(([cidr, holder]) => ({ cidr, holder }))
    .sort((a, b) => a.cidr.localeCompare(b.cidr));
}

/** Drops the reservation of `cidr` on `hub`; true when there was one. Its address is offered again. */
export async function release(redis: Redis, keys: RedisKeys, hub: string, cidr: string): Promise<boolean> {
  const normal = normalizeCidr(cidr);
  const removed = (await redis.hdel(keys.reservations(hub), normal)) === 1;
  if (removed) await lowerHints(redis, keys, hub, normal.split('/')[0] ?? '');
  return removed;
}

/** Drops every reservation `holder` has on `hub`; returns the CIDRs released. */
export async function releaseHolder(
  redis: Redis,
  keys: RedisKeys,
  hub: string,
  holder: string,
): Promise<string[]> {
  const mine = (await reservedOn(redis, keys, hub)).filter((r) => r.holder === holder);
  const released: string[] = [];
  for (const { cidr } of mine) {
    if (await release(redis, keys, hub, cidr)) released.push(cidr);
  }
  return released;
}

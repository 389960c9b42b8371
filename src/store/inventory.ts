/**
 * The peer inventory per hub, and the address claims that make IP allocation atomic: an address is
 * taken with HSETNX on the hub's claim hash inside one Lua script, so two allocations can never get
 * the same address, whatever the concurrency, and a retry of the same allocation gets its earlier
 * address back (claims are also indexed by holder). A per-subnet hint remembers where free
 * addresses start, so a claim costs the same on a hub with 10 peers as with 10,000. Records are
 * found by name, request or owner through an index kept with them (inventory-index.ts).
 */
import type { Redis } from 'ioredis';
import { TunnelgateError } from '../core/errors.js';
import { PeerRecord } from '../domain/models/peer.js';
import { cidrRange, contains, formatAddress, type ParsedCidr, parseAddress, parseCidr } from '../wg/cidr.js';
import { indexField, LOOKUP_RECORDS, PUT_RECORD, REMOVE_RECORD, REPLACE_RECORD } from './inventory-index.js';
import { lowerHints } from './ipam-hints.js';
import type { RedisKeys } from './keys.js';
import { reservedOn } from './reservations.js';

/** Candidates tried per claim round trip before the hint moves on. */
const BATCH = 32;

/**
 * KEYS: claims, holders, hints. ARGV: holder field, holder, subnet, then pairs of (hint after
 * claiming this candidate, candidate). Returns the holder's existing claim, the newly claimed
 * candidate, or false when every candidate is taken (the hint then moves past the batch).
 */
const CLAIM = `local mine = redis.call('HGET', KEYS[2], ARGV[1])
if mine then return mine end
local function raise(to)
  local hint = tonumber(redis.call('HGET', KEYS[3], ARGV[3]) or '0')
  if tonumber(to) > hint then redis.call('HSET', KEYS[3], ARGV[3], to) end
end
for i = 4, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[1], ARGV[i + 1], ARGV[2]) == 1 then
    redis.call('HSET', KEYS[2], ARGV[1], ARGV[i + 1])
    raise(ARGV[i])
    return ARGV[i + 1]
  end
end
raise(ARGV[#ARGV - 1])
return false`;

const holderField = (holder: string, address: string) => `${holder}|${address.includes(':') ? 6 : 4}`;

export class InventoryStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  /** Records (or replaces) a peer. */
  async put(record: PeerRecord): Promise<void> {
    const valid = PeerRecord.parse(record);
    await this.redis.eval(PUT_RECORD, 2, ...this.hashes(valid.hub), valid.publicKey, JSON.stringify(valid));
  }

  /** Forgets a peer and frees its addresses. */
  async remove(hub: string, publicKey: string): Promise<void> {
    const raw = await this.redis.eval(REMOVE_RECORD, 2, ...this.hashes(hub), publicKey);
    const record = typeof raw === 'string' ? PeerRecord.parse(JSON.parse(raw)) : null;
    for (const address of [record?.address, record?.address6]) {
      if (address !== undefined) await this.releaseAddress(hub, address, publicKey);
    }
  }

  /**
   * Moves a peer to a new public key (a finished rotation): the record and its address claims
   * change holder in one transaction.
   */
  async replaceKey(hub: string, oldPublicKey: string, record: PeerRecord): Promise<void> {
    const valid = PeerRecord.parse(record);
    const tx = this.redis
      .multi()
      .eval(REPLACE_RECORD, 2, ...this.hashes(hub), oldPublicKey, valid.publicKey, JSON.stringify(valid));
    for (const address of [valid.address, valid.address6]) {
      if (address === undefined) continue;
      tx.hset(this.keys.ipam(hub), address, valid.publicKey)
        .hdel(this.keys.ipamHolders(hub), holderField(oldPublicKey, address))
        .hset(this.keys.ipamHolders(hub), holderField(valid.publicKey, address), address);
    }
    await tx.exec();
  }

  async find(hub: string, publicKey: string): Promise<PeerRecord | null> {
    const raw = await this.redis.hget(this.keys.inventory(hub), publicKey);
    return raw === null ? null : PeerRecord.parse(JSON.parse(raw));
  }

  /** Every peer on one hub. */
  async list(hub: string): Promise<PeerRecord[]> {
    const all = await this.redis.hvals(this.keys.inventory(hub));
    return all.map((raw) => PeerRecord.parse(JSON.parse(raw)));
  }

  /** Every peer on the given hubs. */
  async listAll(hubs: readonly string[]): Promise<PeerRecord[]> {
    const lists = await Promise.all(hubs.map((hub) => this.list(hub)));
    return lists.flat();
  }

  /** Finds a peer by name on any of the hubs (names are unique across hubs); null when none. */
  async findByName(hubs: readonly string[], peer: string): Promise<PeerRecord | null> {
    const found = await Promise.all(hubs.map((hub) => this.lookup(hub, indexField.peer(peer))));
    return found.flat().find((r) => r.peer === peer) ?? null;
  }

  /** The peer a request created on `hub`, under whatever key it holds now; null when none. */
  async findByRequest(hub: string, requestId: string): Promise<PeerRecord | null> {
    const found = await this.lookup(hub, indexField.request(requestId));
    return found.find((r) => r.requestId === requestId) ?? null;
  }

  /** Every peer `owner` has on the given hubs. */
  async listByOwner(hubs: readonly string[], owner: string): Promise<PeerRecord[]> {
    const found = await Promise.all(hubs.map((hub) => this.lookup(hub, indexField.owner(owner))));
    return found.flat().filter((r) => r.owner === owner);
  }

  /** The records one index field of `hub` names (see inventory-index.ts). */
  private async lookup(hub: string, field: string): Promise<PeerRecord[]> {
    const raws = (await this.redis.eval(LOOKUP_RECORDS, 2, ...this.hashes(hub), field)) as unknown[];
    return raws.flatMap((raw) => (typeof raw === 'string' ? [PeerRecord.parse(JSON.parse(raw))] : []));
  }

  /** KEYS of the record scripts: the hub's records hash and its index. */
  private hashes(hub: string): [string, string] {
    return [this.keys.inventory(hub), this.keys.inventoryIndex(hub)];
  }

  /** Addresses currently claimed on a hub. */
  async claimedAddresses(hub: string): Promise<string[]> {
    return this.redis.hkeys(this.keys.ipam(hub));
  }

  /**
   * The address a claim would get now (for showing approvers), without claiming it. Throws
   * SUBNET_EXHAUSTED when the subnet is full.
   */
  async peekAddress(hub: string, subnet: string, hubAddress: string): Promise<string> {
    const reserved = await this.reservedBlocks(hub);
    for (let offset = await this.hint(hub, subnet); ; offset += BATCH) {
      const all = candidates(subnet, hubAddress, offset);
      if (all.length === 0) break;
      const batch = all.filter(
        (c) => !reserved.some((block) => contains(block, c.address.split('/')[0] ?? '')),
      );
      if (batch.length === 0) continue;
      const holders = await this.redis.hmget(this.keys.ipam(hub), ...batch.map((c) => c.address));
      const free = batch.find((_, i) => holders[i] === null);
      if (free !== undefined) return free.address;
    }
    throw exhausted(subnet);
  }

  /**
   * Claims the lowest free address of `subnet` at or above the hint for `holder` (a public key),
   * never one inside a reservation (reservations.ts). Idempotent: a holder that already has a
   * claim in this family gets it back. Throws SUBNET_EXHAUSTED when the subnet is full.
   */
  async claimAddress(hub: string, subnet: string, hubAddress: string, holder: string): Promise<string> {
    const field = holderField(holder, subnet);
    const reserved = await this.reservedBlocks(hub);
    for (let offset = await this.hint(hub, subnet); ; offset += BATCH) {
      const all = candidates(subnet, hubAddress, offset);
      if (all.length === 0) break;
      const batch = all.filter(
        (c) => !reserved.some((block) => contains(block, c.address.split('/')[0] ?? '')),
      );
      if (batch.length === 0) continue;
      const args = batch.flatMap((c) => [String(c.offset + 1), c.address]);
      const claimed = await this.redis.eval(
        CLAIM,
        3,
        this.keys.ipam(hub),
        this.keys.ipamHolders(hub),
        this.keys.ipamHints(hub),
        field,
        holder,
        subnet,
        ...args,
      );
      if (typeof claimed === 'string') return claimed;
    }
    throw exhausted(subnet);
  }

  /** The hub's reserved blocks, parsed once per allocation. */
  private async reservedBlocks(hub: string): Promise<ParsedCidr[]> {
    return (await reservedOn(this.redis, this.keys, hub)).map((r) => parseCidr(r.cidr));
  }

  /** Claims a specific address (when rebuilding from a hub); false when someone else holds it. */
  async claimExact(hub: string, address: string, holder: string): Promise<boolean> {
    const key = this.keys.ipam(hub);
    if (
      (await this.redis.hsetnx(key, address, holder)) !== 1 &&
      (await this.redis.hget(key, address)) !== holder
    ) {
      return false;
    }
    await this.redis.hset(this.keys.ipamHolders(hub), holderField(holder, address), address);
    return true;
  }

  /** Releases one claim if `holder` still holds it, and lowers the hint to it. */
  async releaseAddress(hub: string, address: string, holder: string): Promise<void> {
    if ((await this.redis.hget(this.keys.ipam(hub), address)) !== holder) return;
    await this.redis
      .multi()
      .hdel(this.keys.ipam(hub), address)
      .hdel(this.keys.ipamHolders(hub), holderField(holder, address))
      .exec();
    await lowerHints(this.redis, this.keys, hub, address);
  }

  private async hint(hub: string, subnet: string): Promise<number> {
    return Number((await this.redis.hget(this.keys.ipamHints(hub), subnet)) ?? '0');
  }
}

/**
 * Up to BATCH host addresses of `subnet` from `offset` on: never the network address, the IPv4
 * broadcast address or the hub's own address.
 */
function candidates(
  subnet: string,
  hubAddress: string,
  offset: number,
): Array<{ offset: number; address: string }> {
  const cidr = parseCidr(subnet);
  const { first, last } = cidrRange(cidr);
  const hub = parseAddress(hubAddress).value;
  const bits = cidr.family === 4 ? 32 : 128;
  const lastHost = cidr.family === 4 && cidr.prefix < 31 ? last - 1n : last;
  const out: Array<{ offset: number; address: string }> = [];
  for (let i = Math.max(offset, 1); out.length < BATCH; i++) {
    const value = first + BigInt(i);
    if (value > lastHost) break;
    if (value === hub) continue;
    out.push({ offset: i, address: `${formatAddress({ family: cidr.family, value })}/${bits}` });
  }
  return out;
}

function exhausted(subnet: string): TunnelgateError {
  return new TunnelgateError('SUBNET_EXHAUSTED', `no free address is left in ${subnet}`, {
    hint: 'free addresses by revoking idle peers (see /vpn list all), or widen the hub subnet',
  });
}

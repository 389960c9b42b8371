/**
 * The peer inventory per hub, and the address claims that make IP allocation atomic: an address is
 * taken with HSETNX on the hub's claim hash, so two allocations can never get the same address,
 * whatever the concurrency, and a retry of the same allocation gets its earlier address back.
 */
import type { Redis } from 'ioredis';
import { TunnelgateError } from '../../core/errors.js';
import { nextFreeAddress } from '../../wg/ipam.js';
import { PeerRecord } from '../model/peer.js';
import type { RedisKeys } from './keys.js';

const MAX_CLAIM_RETRIES = 100;

export class InventoryStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  /** Records (or replaces) a peer. */
  async put(record: PeerRecord): Promise<void> {
    const valid = PeerRecord.parse(record);
    await this.redis.hset(this.keys.inventory(valid.hub), valid.publicKey, JSON.stringify(valid));
  }

  /** Forgets a peer and frees its addresses. */
  async remove(hub: string, publicKey: string): Promise<void> {
    const record = await this.find(hub, publicKey);
    const tx = this.redis.multi().hdel(this.keys.inventory(hub), publicKey);
    for (const address of [record?.address, record?.address6]) {
      if (address !== undefined) tx.hdel(this.keys.ipam(hub), address);
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

  /** Finds a peer by name on any of the hubs; null when none. */
  async findByName(hubs: readonly string[], peer: string): Promise<PeerRecord | null> {
    return (await this.listAll(hubs)).find((r) => r.peer === peer) ?? null;
  }

  /** Addresses currently claimed on a hub. */
  async claimedAddresses(hub: string): Promise<string[]> {
    return this.redis.hkeys(this.keys.ipam(hub));
  }

  /**
   * Claims the lowest free address of `subnet` for `holder` (a public key). Idempotent: a holder
   * that already has a claim in this subnet gets it back. Throws SUBNET_EXHAUSTED when full.
   */
  async claimAddress(hub: string, subnet: string, hubAddress: string, holder: string): Promise<string> {
    const key = this.keys.ipam(hub);
    for (let attempt = 0; attempt < MAX_CLAIM_RETRIES; attempt++) {
      const claims = await this.redis.hgetall(key);
      const mine = Object.entries(claims).find(
        ([address, who]) => who === holder && inSameFamily(address, subnet),
      );
      if (mine !== undefined) return mine[0];
      const candidate = nextFreeAddress({ subnet, hubAddress, taken: Object.keys(claims) });
      if ((await this.redis.hsetnx(key, candidate, holder)) === 1) return candidate;
    }
    throw new TunnelgateError('CONFLICT', `could not claim an address on hub ${hub}: too much contention`);
  }

  /** Claims a specific address (when rebuilding from a hub); false when someone else holds it. */
  async claimExact(hub: string, address: string, holder: string): Promise<boolean> {
    const key = this.keys.ipam(hub);
    if ((await this.redis.hsetnx(key, address, holder)) === 1) return true;
    return (await this.redis.hget(key, address)) === holder;
  }

  /** Releases one claim if `holder` still holds it. */
  async releaseAddress(hub: string, address: string, holder: string): Promise<void> {
    if ((await this.redis.hget(this.keys.ipam(hub), address)) === holder) {
      await this.redis.hdel(this.keys.ipam(hub), address);
    }
  }
}

function inSameFamily(address: string, subnet: string): boolean {
  return address.includes(':') === subnet.includes(':');
}

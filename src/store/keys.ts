/**
 * Every Redis key Tunnelgate writes, derived from one prefix (`redis.prefix`, default `tg`), so a
 * test or a second deployment on the same Redis stays apart by choosing another prefix.
 */
export interface RedisKeys {
  request(id: string): string;
  /** Sorted set of request ids by creation time. */
  requests: string;
  /** The same, for one requester (so a user's own requests are found without a full scan). */
  requestsBy(user: string): string;
  /** The same, for one peer name (names must not clash between users). */
  requestsFor(peer: string): string;
  /** Hash publicKey -> PeerRecord JSON for one hub. */
  inventory(hub: string): string;
  /** Hash `n:<peer>`, `r:<requestId>`, `o:<owner>` -> public key(s) of one hub's inventory. */
  inventoryIndex(hub: string): string;
  /** Hash address -> publicKey for one hub: the address claims. */
  ipam(hub: string): string;
  /** Hash `<publicKey>|<family>` -> address: the same claims by holder. */
  ipamHolders(hub: string): string;
  /** Hash subnet -> the lowest offset in it that may still be free. */
  ipamHints(hub: string): string;
  /**
   * Hash CIDR (normalised, e.g. `10.6.0.2/32`) -> holder (public key) of one hub: addresses and
   * routes held by peers Tunnelgate did not make, never offered to an allocation.
   */
  reservations(hub: string): string;
  /** Sealed generated private keys, by request id. */
  sealedKey(id: string): string;
  /** Idempotency marks for scheduled notices (reminders, expiry warnings). */
  once(id: string): string;
  /** An extension request (`x-…`). */
  extension(id: string): string;
  /** A key change waiting for leads (`k-…`). */
  keyChange(id: string): string;
  /** Held while one user's request is being recorded (cap and name checks are one step). */
  requestLock(user: string): string;
  /** One user's command count in the current rate-limit window. */
  rate(user: string, window: number): string;
  /** The last reconcile's summary of one hub (foreign peers, overlaps), shown before approval. */
  drift(hub: string): string;
}

/** Builds the key names for a prefix. */
export function redisKeys(prefix: string): RedisKeys {
  return {
    request: (id) => `${prefix}:req:${id}`,
    requests: `${prefix}:reqs`,
    requestsBy: (user) => `${prefix}:reqs:by:${user}`,
    requestsFor: (peer) => `${prefix}:reqs:peer:${peer}`,
    inventory: (hub) => `${prefix}:inv:${hub}`,
    inventoryIndex: (hub) => `${prefix}:inv-idx:${hub}`,
    ipam: (hub) => `${prefix}:ipam:${hub}`,
    ipamHolders: (hub) => `${prefix}:ipam-holders:${hub}`,
    ipamHints: (hub) => `${prefix}:ipam-hints:${hub}`,
    reservations: (hub) => `${prefix}:reserved:${hub}`,
    sealedKey: (id) => `${prefix}:sealed:${id}`,
    once: (id) => `${prefix}:once:${id}`,
    extension: (id) => `${prefix}:ext:${id}`,
    keyChange: (id) => `${prefix}:keychange:${id}`,
    requestLock: (user) => `${prefix}:lock:request:${user}`,
    rate: (user, window) => `${prefix}:rate:${user}:${window}`,
    drift: (hub) => `${prefix}:drift:${hub}`,
  };
}

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
  /** The key rotation in progress for one peer of a hub. */
  rotation(hub: string, peer: string): string;
  /** A hub bootstrap request (`b-…`). */
  bootstrap(id: string): string;
  /** The audit log stream (entries chained by HMAC, see audit-chain.ts). */
  audit: string;
  /** The MAC of the audit log's last entry. */
  auditHead: string;
  /** How far `/vpn log` has verified the audit log (MACed JSON). */
  auditCheckpoint: string;
  /** Hash requestId -> active break-glass grant JSON; one user's active grant; their grant times. */
  breakGlass: { grants: string; active(user: string): string; week(user: string): string };
  /** Seen webhook event ids (replay protection). */
  webhookEvent(provider: string, id: string): string;
  /** Set of user ids the leads offboarded (never given break-glass access). */
  offboarded: string;
  /** An access review (`v-…`) and its peers; `reviews` orders them by start, `reviewOpen` holds the open one's id. */
  review(id: string): string;
  reviewItems(id: string): string;
  reviews: string;
  reviewOpen: string;
  /** Set of user ids who left (their peers are reviewed by the leads). */
  departed: string;
  /** A config whose delivery failed, by hub and peer: the worker message `/vpn resend` delivers again. */
  pendingConfig(hub: string, peer: string): string;
  /** A hub's host key trusted on first use, by hub and known_hosts name (store/host-keys.ts). */
  hostKey(hub: string, name: string): string;
  /** A fixable finding of a diagnosis or audit (`f-…`), and the mark of the lead who approved its fix. */
  finding(id: string): string;
  findingApproved(id: string): string;
  /** One hub's latest handshake reading for /metrics, and the lock of the process taking it. */
  handshakes(hub: string): string;
  handshakesLock(hub: string): string;
  /** A MAC that identifies the deployment's data key (every process on this prefix must share it). */
  deploymentKey: string;
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
    rotation: (hub, peer) => `${prefix}:rot:${hub}:${peer}`,
    bootstrap: (id) => `${prefix}:bootstrap:${id}`,
    audit: `${prefix}:audit`,
    auditHead: `${prefix}:audit:head`,
    auditCheckpoint: `${prefix}:audit:checkpoint`,
    breakGlass: {
      grants: `${prefix}:bg:grants`,
      active: (user) => `${prefix}:bg:active:${user}`,
      week: (user) => `${prefix}:bg:times:${user}`,
    },
    webhookEvent: (provider, id) => `${prefix}:webhook-seen:${provider}:${id}`,
    offboarded: `${prefix}:offboarded`,
    review: (id) => `${prefix}:review:${id}`,
    reviewItems: (id) => `${prefix}:review-items:${id}`,
    reviews: `${prefix}:reviews`,
    reviewOpen: `${prefix}:review-open`,
    departed: `${prefix}:departed`,
    pendingConfig: (hub, peer) => `${prefix}:config-pending:${hub}:${peer}`,
    finding: (id) => `${prefix}:finding:${id}`,
    findingApproved: (id) => `${prefix}:finding:${id}:approved`,
    handshakes: (hub) => `${prefix}:metrics:handshakes:${hub}`,
    handshakesLock: (hub) => `${prefix}:metrics:handshakes-lock:${hub}`,
    deploymentKey: `${prefix}:deployment-key`,
    hostKey: (hub, name) => `${prefix}:hostkey:${hub}:${name}`,
    drift: (hub) => `${prefix}:drift:${hub}`,
  };
}

/**
 * Host keys trusted on first use for hubs without a `knownHosts` file, kept in Redis so every
 * worker (and every restart) sees the same pin: the first key seen is recorded once (`SET NX`),
 * audited, and from then on any other key is a mismatch.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { TunnelgateError } from '../core/errors.js';
import type { AuditLog } from './audit-log.js';
import type { RedisKeys } from './keys.js';

/** A host key as pinned: its type and the base64 key blob. */
export const PinnedHostKey = z.strictObject({
  keyType: z.string().min(1),
  key: z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/),
  fingerprint: z.string(),
  /** When it was first seen (ISO). */
  at: z.iso.datetime(),
});
export type PinnedHostKey = z.infer<typeof PinnedHostKey>;

/** Where a hub's first-use key is pinned; see {@link FirstUseKeys}. */
export interface FirstUseStore {
  /** The key pinned for `hub` at `name` (`host` or `[host]:port`), or undefined. */
  get(hub: string, name: string): Promise<PinnedHostKey | undefined>;
  /**
   * Pins `key` unless a key is pinned already, and returns the pinned one (this key, or the one
   * another worker pinned first). Only the call that pins appends the audit entry.
   */
  pinFirst(hub: string, name: string, key: Omit<PinnedHostKey, 'at'>): Promise<PinnedHostKey>;
}

/** First-use pins in Redis, under `<prefix>:hostkey:<hub>:<name>`, never expiring. */
export class FirstUseKeys implements FirstUseStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly audit: AuditLog,
    private readonly clock: () => Date,
  ) {}

  async get(hub: string, name: string): Promise<PinnedHostKey | undefined> {
    const raw = await this.redis.get(this.keys.hostKey(hub, name));
    if (raw === null) return undefined;
    const parsed = PinnedHostKey.safeParse(JSON.parse(raw));
    if (!parsed.success) {
      throw new TunnelgateError('INTERNAL', `the first-use host key pin of hub "${hub}" is unreadable`, {
        hub,
        hint: `pin the key with hostKey or knownHosts, or delete ${this.keys.hostKey(hub, name)}`,
      });
    }
    return parsed.data;
  }

  async pinFirst(hub: string, name: string, key: Omit<PinnedHostKey, 'at'>): Promise<PinnedHostKey> {
    const pin = PinnedHostKey.parse({ ...key, at: this.clock().toISOString() });
    const set = await this.redis.set(this.keys.hostKey(hub, name), JSON.stringify(pin), 'NX');
    if (set !== 'OK') {
      const earlier = await this.get(hub, name);
      if (earlier !== undefined) return earlier;
      throw new TunnelgateError('INTERNAL', `the first-use host key pin of hub "${hub}" vanished`, { hub });
    }
    await this.audit.append({
      at: pin.at,
      actor: 'worker',
      action: 'host-key-trust',
      hub,
      target: name.slice(0, 100),
      result: 'ok',
      detail: `trusted ${pin.keyType} host key ${pin.fingerprint} on first use (pinned in Redis)`,
    });
    return pin;
  }
}

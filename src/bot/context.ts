/**
 * What command handlers need, passed in: stores, queues, the key vault, a clock and an id source.
 * Handlers never touch a hub; they validate, record, and queue.
 */
import type { Redis } from 'ioredis';
import type { TunnelgateConfig } from '../config/schema.js';
import type { Logger } from '../core/logger.js';
import type { Actor } from '../domain/models/command.js';
import type { Message, Recipient, Reply } from '../domain/models/reply.js';
import type { Signer } from '../domain/signer.js';
import type { OnCallRoster } from '../oncall/roster.js';
import type { Queues } from '../queue/queues.js';
import type { AuditLog } from '../store/audit-log.js';
import type { BreakGlassStore } from '../store/break-glass.js';
import type { InventoryStore } from '../store/inventory.js';
import type { KeyVault } from '../store/key-vault.js';
import type { RedisKeys } from '../store/keys.js';
import type { RequestStore } from '../store/requests.js';

export interface BotContext {
  config: TunnelgateConfig;
  redis: Redis;
  keys: RedisKeys;
  requests: RequestStore;
  inventory: InventoryStore;
  audit: AuditLog;
  vault: KeyVault;
  /** MACs for gate decisions and jobs, from the deployment secret. */
  signer: Signer;
  queues: Queues;
  breakGlass: BreakGlassStore;
  /** Who is on call, from the `oncall:` provider; absent without one. */
  oncall?: OnCallRoster;
  clock: () => Date;
  logger: Logger;
}

/** A message to the actor, private by default. */
export function toActor(actor: Actor, reply: Reply, extra: Partial<Message> = {}): Message {
  return { to: { type: 'user', id: actor.id }, private: true, reply, ...extra };
}

/** A message to someone else. */
export function toRecipient(to: Recipient, reply: Reply, isPrivate = true): Message {
  return { to, private: isPrivate, reply };
}

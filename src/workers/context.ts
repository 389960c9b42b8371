/**
 * What job processors need, passed in so each processor is testable with real Redis and lab hubs
 * and nothing global.
 */
import type { Redis } from 'ioredis';
import type { HubConfig, TunnelgateConfig } from '../config/schema.js';
import { TunnelgateError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Message } from '../domain/models/reply.js';
import type { HubPool } from '../hub/ssh/hub-pool.js';
import type { HubJob } from '../queue/jobs.js';
import type { AuditLog } from '../store/audit-log.js';
import type { InventoryStore } from '../store/inventory.js';
import type { RedisKeys } from '../store/keys.js';
import type { RequestStore } from '../store/requests.js';
import { formatAddress, parseCidr } from '../wg/cidr.js';

export interface WorkerContext {
  config: TunnelgateConfig;
  redis: Redis;
  keys: RedisKeys;
  requests: RequestStore;
  inventory: InventoryStore;
  audit: AuditLog;
  pool: HubPool;
  /** Queues messages for the bot to deliver. */
  notify(messages: Message[], jobId?: string): Promise<void>;
  /** Queues follow-up hub work (e.g. the revocation of a time-bound peer at its expiry). */
  enqueueHub(job: HubJob, options?: { delayMs?: number; jobId?: string }): Promise<void>;
  clock: () => Date;
  logger: Logger;
}

/** The hub's config entry; throws NOT_FOUND for a hub that is no longer configured. */
export function hubConfig(config: TunnelgateConfig, name: string): HubConfig {
  const hub = config.hubs.find((h) => h.name === name);
  if (hub === undefined) {
    throw new TunnelgateError('NOT_FOUND', `hub "${name}" is not configured`, {
      hint: `configured hubs: ${config.hubs.map((h) => h.name).join(', ')}`,
    });
  }
  return hub;
}

/** The hub's own tunnel address: `address` from config, else the first host of the subnet. */
export function hubAddress(hub: HubConfig): string {
  if (hub.address !== undefined) return hub.address;
  if (parseCidr(hub.subnet).family === 6) {
    throw new TunnelgateError('CONFIG_INVALID', `hubs.${hub.name}.address: set it for an IPv6-only subnet`);
  }
  return firstHost(hub.subnet);
}

/** The hub's IPv6 tunnel address: the first host of `subnet6`. */
export function hubAddress6(subnet6: string): string {
  return firstHost(subnet6);
}

function firstHost(subnet: string): string {
  const cidr = parseCidr(subnet);
  return formatAddress({ family: cidr.family, value: cidr.network + 1n });
}

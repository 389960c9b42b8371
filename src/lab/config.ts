/**
 * A validated Tunnelgate config pointing at a running lab's hubs, for tests and the demo.
 * Policy and roles can be overridden; everything goes through the real schema.
 */
import { TunnelgateConfig } from '../config/schema.js';
import type { Lab } from './lab.js';

export interface LabConfigOptions {
  /** Redis URL; leave out for the embedded redis-server. */
  redisUrl?: string;
  /** Key and queue prefix (one per test keeps tests apart). */
  prefix?: string;
  dataDir: string;
  leads?: string[];
  oncall?: string[];
  policy?: Record<string, unknown>;
  worker?: Record<string, unknown>;
  metrics?: Record<string, unknown>;
  /** Per-hub overrides, merged into every hub entry. */
  hub?: Record<string, unknown>;
  /** The `oncall:` section (e.g. a provider stand-in's URL); `oncall` above is `roles.oncall`. */
  oncallProvider?: Record<string, unknown>;
}

/** Builds and validates the config. Throws like `parseConfig` when an override is invalid. */
export function labConfig(lab: Lab, options: LabConfigOptions): TunnelgateConfig {
  return TunnelgateConfig.parse({
    redis: {
      ...(options.redisUrl === undefined ? {} : { url: options.redisUrl }),
      ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
    },
    dataDir: options.dataDir,
    hubs: lab.hubs.map((hub) => ({
      ...hub.configEntry(),
      ssh: { connectTimeoutMs: 5_000, commandTimeoutMs: 30_000, idleTimeoutMs: 30_000, maxChannels: 8 },
      ...options.hub,
    })),
    roles: { leads: options.leads ?? ['alice'], oncall: options.oncall ?? ['carol'] },
    policy: options.policy ?? {},
    worker: options.worker ?? {},
    ...(options.oncallProvider === undefined ? {} : { oncall: options.oncallProvider }),
    metrics: options.metrics ?? {},
  });
}

/**
 * Lookups over the configured hubs that both processes need: which hub a command means, its
 * entry, its own tunnel addresses and the routes a split-tunnel client gets.
 */
import type { HubConfig, TunnelgateConfig } from '../config/schema.js';
import { TunnelgateError } from '../core/errors.js';
import { formatAddress, parseCidr } from '../wg/cidr.js';

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

/**
 * The hub a command means: the one named, or the only one configured. Throws NOT_FOUND for an
 * unknown name, INPUT_INVALID when none is named and several are configured.
 */
export function pickHub(config: TunnelgateConfig, name: string | undefined): string {
  const names = config.hubs.map((h) => h.name as string);
  if (name !== undefined) {
    if (!names.includes(name)) {
      throw new TunnelgateError('NOT_FOUND', `there is no hub "${name}"`, {
        hint: `hubs: ${names.join(', ')}`,
      });
    }
    return name;
  }
  const [only, ...rest] = names;
  if (only === undefined || rest.length > 0) {
    throw new TunnelgateError('INPUT_INVALID', 'several hubs are configured: choose one with --hub', {
      hint: `hubs: ${names.join(', ')}`,
    });
  }
  return only;
}

/**
 * The hub's own tunnel address: `address` from config, else the first host of the subnet.
 * Throws CONFIG_INVALID for an IPv6-only subnet without `address`.
 */
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

/** The AllowedIPs a split-tunnel client of `hub` gets: `routes`, or the hub subnet by default. */
export function splitRoutes(hub: HubConfig): string[] {
  return hub.routes.length > 0 ? [...hub.routes] : [hub.subnet];
}

function firstHost(subnet: string): string {
  const cidr = parseCidr(subnet);
  return formatAddress({ family: cidr.family, value: cidr.network + 1n });
}

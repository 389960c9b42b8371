/**
 * The warning a request preview and an approval card carry when the hub's last reconcile found
 * peers Tunnelgate does not manage or overlapping AllowedIPs: one line every adapter shows as is.
 */
import type { HubDrift } from './models/reply.js';

/** Most foreign keys and overlaps listed before "and N more". */
const SHOWN = 5;

function some(items: readonly string[]): string {
  const more = items.length - SHOWN;
  return items.slice(0, SHOWN).join(', ') + (more > 0 ? ` and ${more} more` : '');
}

/** E.g. `Hub hub1 has drifted (reconcile at …): 2 foreign peers (Ab12cd34…, …); 1 overlap (…).` */
export function describeDrift(drift: HubDrift): string {
  const parts: string[] = [];
  if (drift.foreign.length > 0) {
    const noun = drift.foreign.length === 1 ? 'foreign peer' : 'foreign peers';
    parts.push(`${drift.foreign.length} ${noun} not made by Tunnelgate (${some(drift.foreign)})`);
  }
  if (drift.overlaps.length > 0) {
    const noun = drift.overlaps.length === 1 ? 'overlap' : 'overlaps';
    parts.push(`${drift.overlaps.length} AllowedIPs ${noun} (${some(drift.overlaps)})`);
  }
  return `Warning: hub ${drift.hub} has drifted (reconcile at ${drift.at}): ${parts.join('; ')}. See /vpn reconcile ${drift.hub}.`;
}

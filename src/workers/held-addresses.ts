/**
 * What a provisioning does when the hub refused an address another peer holds (hub/programs/
 * holders.ts): it learns what the hub holds — the refused entries, then every peer of the live
 * interface and the config file in one read — and sets it aside in Redis, so the next allocation
 * offers only an address that is free on the hub. A managed holder (a record exists for its key)
 * gets the claim it should have had; any other holder a reservation (store/reservations.ts).
 */
import type { HubConfig } from '../config/schema.js';
import type { Held } from '../hub/programs/holders.js';
import { dumpStep, readConfStep } from '../hub/programs/peers.js';
import { runScript } from '../hub/ssh/remote-script.js';
import { normalizeCidr, reserve } from '../store/reservations.js';
import { listPeers, parseWgConf } from '../wg/conf.js';
import { parseDump } from '../wg/dump.js';
import type { WorkerContext } from './context.js';

/**
 * Sets aside one holder's entries: nothing for an address already claimed (allocation skips it
 * anyway; a bot peer being provisioned, or a rotation's new key before its commit moves the claim,
 * must not get a reservation that would outlive it), a claim for a managed holder's own address,
 * else a reservation.
 */
async function setAsideOne(ctx: WorkerContext, hub: string, holder: string, cidrs: Iterable<string>) {
  const managed = await ctx.inventory.find(hub, holder);
  for (const entry of cidrs) {
    const cidr = normalizeCidr(entry);
    if ((await ctx.redis.hget(ctx.keys.ipam(hub), cidr)) !== null) continue;
    const own = managed !== null && (managed.address === cidr || managed.address6 === cidr);
    if (!own || !(await ctx.inventory.claimExact(hub, cidr, holder))) {
      await reserve(ctx.redis, ctx.keys, hub, cidr, holder);
    }
  }
}

/**
 * Sets aside what the hub said is held, then every other peer's AllowedIPs on the hub (live and
 * in the file) except `self`'s, so a Redis that knows nothing of the hub (a second bot, a lost
 * inventory) stops offering taken addresses after one refusal instead of one per address.
 */
export async function setAsideHeld(
  ctx: WorkerContext,
  hub: HubConfig,
  held: readonly Held[],
  self: string,
): Promise<void> {
  for (const h of held) await setAsideOne(ctx, hub.name, h.holder, [h.cidr]);
  const results = await runScript(ctx.pool.get(hub.name), [dumpStep(hub), readConfStep(hub)]);
  const byHolder = new Map<string, Set<string>>();
  const add = (key: string, ips: readonly string[]) => {
    if (key === self || ips.length === 0) return;
    const set = byHolder.get(key) ?? new Set<string>();
    for (const ip of ips) set.add(ip);
    byHolder.set(key, set);
  };
  for (const peer of parseDump(results.dump?.stdout ?? '').peers) add(peer.publicKey, peer.allowedIps);
  for (const peer of listPeers(parseWgConf(results.conf?.stdout ?? ''))) add(peer.publicKey, peer.allowedIps);
  for (const [holder, ips] of byHolder) await setAsideOne(ctx, hub.name, holder, ips);
}

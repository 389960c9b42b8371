/**
 * Where the time of adding one peer goes, for explaining the growth figure: the address claim in
 * Redis (as provisioning makes it), the hub exec (the provisioning steps in one `runScript` over an
 * open ssh2 connection), each of those steps run alone inside the hub (no SSH), and the bare
 * `wg show dump` the verification cannot do without. Leaves the probe peers on the hub.
 */

import type { HubConfig } from '../../src/config/schema.js';
import { hubAddress } from '../../src/domain/hubs.js';
import { provisionSteps } from '../../src/hub/programs/peers.js';
import type { HubPool } from '../../src/hub/ssh/hub-pool.js';
import { runScript } from '../../src/hub/ssh/remote-script.js';
import type { LabHub } from '../../src/lab/hub.js';
import type { InventoryStore } from '../../src/store/inventory.js';
import { renderPeerSection } from '../../src/wg/conf.js';
import { generateKeyPair } from '../../src/wg/keys.js';
import { median } from './stats.js';

export interface AddBreakdown {
  /** Median ms of the address claim. */
  claim: number;
  /** Median ms of the one exec over SSH. */
  exec: number;
  /** Median ms per provisioning step, run alone inside the hub. */
  steps: Record<string, number>;
  /**
   * Median ms of the bare `wg show <if> dump` inside the hub, output discarded: the least the
   * live verification can cost, since wireguard-go answers with every peer of the device.
   */
  bareDump: number;
}

/** Claims an address for a fresh probe key and renders its steps. */
async function probe(hub: HubConfig, inventory: InventoryStore, i: number) {
  const { publicKey } = generateKeyPair();
  const started = performance.now();
  const address = await inventory.claimAddress(hub.name, hub.subnet, hubAddress(hub), publicKey);
  const claimMs = performance.now() - started;
  const section = renderPeerSection({
    publicKey,
    allowedIps: [address],
    meta: {
      peer: `probe${i}-dev`,
      owner: `probe${i}`,
      device: 'dev',
      request: `r-probe${i % 10}`,
      created: new Date().toISOString(),
      expires: null,
      mode: 'split',
    },
  });
  return { claimMs, steps: provisionSteps(hub, { publicKey, allowedIps: [address], section }) };
}

/** Adds 2 x `count` probe peers to `hub` (plus one warm-up), timing claims, execs and steps. */
export async function breakDownAdds(
  lab: LabHub,
  hub: HubConfig,
  inventory: InventoryStore,
  pool: HubPool,
  count: number,
): Promise<AddBreakdown> {
  const claims: number[] = [];
  const execs: number[] = [];
  const steps: Record<string, number[]> = {};
  for (let i = 0; i <= count; i++) {
    const p = await probe(hub, inventory, i);
    const started = performance.now();
    await runScript(pool.get(hub.name), p.steps);
    // The first exec opens the connection: not counted.
    if (i > 0) {
      claims.push(p.claimMs);
      execs.push(performance.now() - started);
    }
  }
  for (let i = 0; i < count; i++) {
    const p = await probe(hub, inventory, count + 1 + i);
    for (const step of p.steps) {
      const started = performance.now();
      const run = await lab.exec(step.argv, step.input === undefined ? {} : { input: step.input });
      if (run.code !== 0) throw new Error(`step ${step.name} failed on ${hub.name}: ${run.stderr}`);
      const times = steps[step.name] ?? [];
      times.push(performance.now() - started);
      steps[step.name] = times;
    }
  }
  const dumps: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const run = await lab.exec(['sh', '-c', 'wg show "$1" dump >/dev/null', 'bare-dump', hub.interface]);
    if (run.code !== 0) throw new Error(`wg show ${hub.interface} dump failed on ${hub.name}: ${run.stderr}`);
    dumps.push(performance.now() - started);
  }
  return {
    bareDump: median(dumps),
    claim: median(claims),
    exec: median(execs),
    steps: Object.fromEntries(Object.entries(steps).map(([name, ms]) => [name, median(ms)])),
  };
}

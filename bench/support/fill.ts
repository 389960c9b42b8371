/**
 * Fills a lab hub with generated peers the fast way, for the growth and memory figures: one
 * `wg addconf` for the live interface, one write of the config file with a `# tunnelgate:` section
 * per peer (exactly what provisioning writes), and the matching inventory records and address
 * claims in Redis — so the hub, its file and the bot agree, as after that many real approvals.
 * Tunnel addresses exist only inside the hub's namespace; nothing is routed anywhere.
 */
import { randomBytes } from 'node:crypto';
import type { HubConfig } from '../../src/config/schema.js';
import { hubAddress } from '../../src/domain/hubs.js';
import { PeerRecord } from '../../src/domain/models/peer.js';
import { HUB_WG_CONFIG, type LabHub } from '../../src/lab/hub.js';
import type { InventoryStore } from '../../src/store/inventory.js';
import { renderPeerSection } from '../../src/wg/conf.js';
import { PublicKey } from '../../src/wg/keys.js';

const BATCH = 1_000;
const FILL_PATH = '/etc/wireguard/bench-fill.conf';

/**
 * A public key for a filler peer: 32 random bytes, which `wg` accepts as a key; no private half
 * is ever needed. Not `generateKeyPair()`: 100,000 of those in one process once deadlocked Node 20
 * (a GC inside the JWK export ran a KeyGenJob destructor that waited on a lock forever).
 */
function fillerKey(): string {
  return PublicKey.parse(randomBytes(32).toString('base64'));
}

/** The IPv4 address as an unsigned 32-bit number. */
function toInt(address: string): number {
  return address.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

function toAddress(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** The first `count` host addresses of `hub.subnet` (IPv4), skipping the hub's own, as /32. */
export function fillAddresses(hub: HubConfig, count: number): string[] {
  const [network = '', bits = '32'] = hub.subnet.split('/');
  const first = toInt(network) + 1;
  const last = toInt(network) + 2 ** (32 - Number(bits)) - 2;
  const own = toInt(hubAddress(hub).split('/')[0] ?? '');
  const addresses: string[] = [];
  for (let value = first; value <= last && addresses.length < count; value++) {
    if (value !== own) addresses.push(`${toAddress(value)}/32`);
  }
  if (addresses.length < count) throw new Error(`${hub.subnet} has no room for ${count} peers`);
  return addresses;
}

/** Adds `count` peers to `lab` (the running hub behind `hub`) and to `inventory`. */
export async function fillHub(
  lab: LabHub,
  hub: HubConfig,
  inventory: InventoryStore,
  count: number,
): Promise<void> {
  const created = new Date().toISOString();
  const peers = fillAddresses(hub, count).map((address, i) => {
    const owner = `fill${i}`;
    return {
      publicKey: fillerKey(),
      address,
      owner,
      peer: `${owner}-dev`,
      requestId: `r-${i.toString(36).padStart(6, '0')}`,
    };
  });
  const addconf = peers
    .map((p) => `[Peer]\nPublicKey = ${p.publicKey}\nAllowedIPs = ${p.address}\n`)
    .join('');
  // wg cannot open a piped stdin inside the namespace: hand it a file next to wg0.conf.
  await lab.writeFile(FILL_PATH, addconf);
  const added = await lab.exec(['wg', 'addconf', hub.interface, FILL_PATH], { timeoutMs: 120_000 });
  await lab.exec(['rm', '-f', FILL_PATH]);
  if (added.code !== 0) throw new Error(`wg addconf on ${hub.name} failed: ${added.stderr}`);
  const sections = peers.map((p) =>
    renderPeerSection({
      publicKey: p.publicKey,
      allowedIps: [p.address],
      meta: {
        peer: p.peer,
        owner: p.owner,
        device: 'dev',
        request: p.requestId,
        created,
        expires: null,
        mode: 'split',
      },
    }),
  );
  await lab.writeFile(HUB_WG_CONFIG, (await lab.readFile(HUB_WG_CONFIG)) + sections.join(''));
  for (let start = 0; start < peers.length; start += BATCH) {
    await Promise.all(
      peers.slice(start, start + BATCH).flatMap((p) => [
        inventory.claimExact(hub.name, p.address, p.publicKey),
        inventory.put(
          PeerRecord.parse({
            peer: p.peer,
            owner: p.owner,
            device: 'dev',
            hub: hub.name,
            publicKey: p.publicKey,
            address: p.address,
            mode: 'split',
            requestId: p.requestId,
            createdAt: created,
            expiresAt: null,
          }),
        ),
      ]),
    );
  }
}

/** How many peers the hub has live and in its config file (read inside the hub, not over SSH). */
export async function hubPeerCounts(lab: LabHub, hub: HubConfig): Promise<{ live: number; file: number }> {
  const live = await lab.exec(['wg', 'show', hub.interface, 'peers']);
  const file = await lab.readFile(HUB_WG_CONFIG);
  return {
    live: live.stdout.split('\n').filter((l) => l.trim() !== '').length,
    file: file.split('\n').filter((l) => /^\[Peer\]\s*$/.test(l)).length,
  };
}

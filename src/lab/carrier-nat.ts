/**
 * A carrier-style stateful firewall in front of a lab client, for the guide's common mistake 6
 * ("works from home Wi-Fi but not from mobile"): inbound UDP from the hub is let in only for a
 * flow conntrack still remembers, and conntrack forgets an idle UDP flow after a few seconds (a
 * short `nf_conntrack_udp_timeout` in the client's own network namespace). A client that sends a
 * keepalive keeps its flow; one without goes unreachable from the hub once it is idle.
 */
import { TunnelgateError } from '../core/errors.js';
import type { LabClient } from './client.js';
import { waitFor } from './host.js';
import { HUB_WG_PORT, type LabHub } from './hub.js';

/** Puts the client's network back as it was. */
export type UndoCarrierNat = () => Promise<void>;

const TABLE = 'tg_carrier';
const TIMEOUTS = ['net.netfilter.nf_conntrack_udp_timeout', 'net.netfilter.nf_conntrack_udp_timeout_stream'];

async function must(client: LabClient, argv: readonly string[], input?: string): Promise<string> {
  const result = await client.exec(argv, input === undefined ? {} : { input });
  if (result.code !== 0) {
    throw new TunnelgateError('LAB_UNAVAILABLE', `carrier NAT: \`${argv.join(' ')}\` exited ${result.code}`, {
      stderrTail: result.stderr,
    });
  }
  return result.stdout;
}

/**
 * Puts the firewall in front of `client`: idle UDP flows are forgotten after `idleSec` seconds and
 * UDP from `hub`'s WireGuard port gets in only on a remembered flow (the rest is counted and
 * dropped). Throws LAB_UNAVAILABLE when the client's namespace cannot take it. Undo removes it.
 */
export async function carrierNat(client: LabClient, hub: LabHub, idleSec: number): Promise<UndoCarrierNat> {
  const before = await Promise.all(
    TIMEOUTS.map(async (key) => (await must(client, ['sysctl', '-n', key])).trim()),
  );
  await must(client, ['sysctl', '-w', ...TIMEOUTS.map((key) => `${key}=${idleSec}`)]);
  await must(
    client,
    ['nft', '-f', '-'],
    `table inet ${TABLE} {
  chain input {
    type filter hook input priority 0; policy accept;
    ip saddr ${hub.labAddress} udp sport ${HUB_WG_PORT} ct state established accept
    ip saddr ${hub.labAddress} udp sport ${HUB_WG_PORT} counter drop
  }
}
`,
  );
  return async () => {
    await client.exec(['nft', 'delete', 'table', 'inet', TABLE]);
    await must(client, ['sysctl', '-w', ...TIMEOUTS.map((key, i) => `${key}=${before[i] ?? '30'}`)]);
  };
}

/** True while the client's conntrack remembers a UDP flow to `hub`'s WireGuard port. */
export async function remembersFlow(client: LabClient, hub: LabHub): Promise<boolean> {
  const table = await must(client, ['cat', '/proc/net/nf_conntrack']);
  return table
    .split('\n')
    .some(
      (line) =>
        line.includes(' udp ') &&
        line.includes(`dst=${hub.labAddress} `) &&
        line.includes(`dport=${HUB_WG_PORT} `),
    );
}

/** Waits until the client's conntrack forgot its flow to the hub (an idle client, no keepalive). */
export async function waitUntilForgotten(
  client: LabClient,
  hub: LabHub,
  timeoutMs: number,
): Promise<boolean> {
  return waitFor(async () => !(await remembersFlow(client, hub)), timeoutMs, 250);
}

/**
 * Captures the runbooks' read steps verbatim from a lab hub, healthy and with faults injected, into
 * test/fixtures/runbooks/<state>/<step>.out (stdout) and .err (stderr), for the parser unit tests.
 * Run as root: `node --import tsx scripts/capture-runbook-fixtures.ts`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HubConfig } from '../src/config/schema.js';
import { type ReadPlan, readSteps } from '../src/hub/facts/facts.js';
import { renderLabClientConfig } from '../src/lab/client.js';
import {
  blockWireGuardPort,
  chmodFile,
  dropOnWireGuard,
  enableSaveConfig,
  lowerLinkMtu,
  openSshToAll,
  routeFullTunnel,
  setIpForward,
  startListener,
  stopWireGuard,
  withWrongHubKey,
} from '../src/lab/faults.js';
import { generateWgKeyPair, waitFor } from '../src/lab/host.js';
import { HUB_WG_CONFIG, type LabHub } from '../src/lab/hub.js';
import { startLab } from '../src/lab/lab.js';

const OUT = join(import.meta.dirname, '../test/fixtures/runbooks');

async function capture(hub: LabHub, config: HubConfig, plan: ReadPlan, state: string): Promise<void> {
  const dir = join(OUT, state);
  mkdirSync(dir, { recursive: true });
  for (const step of readSteps(config, plan)) {
    const result = await hub.exec(step.argv);
    writeFileSync(join(dir, `${step.name}.out`), result.stdout);
    writeFileSync(join(dir, `${step.name}.err`), result.stderr);
    writeFileSync(join(dir, `${step.name}.code`), `${result.code}\n`);
  }
}

const lab = await startLab({ hubs: 1, clients: 2 });
try {
  const [hub] = lab.hubs;
  const [client, other] = lab.clients;
  if (hub === undefined || client === undefined || other === undefined) throw new Error('lab');
  const config = HubConfig.parse(hub.configEntry());
  const op = lab.operatorAddress;
  const keys = await generateWgKeyPair();
  await hub.exec(['wg', 'set', 'wg0', 'peer', keys.publicKey, 'allowed-ips', '10.66.1.2/32']);
  await client.up(renderLabClientConfig({ privateKey: keys.privateKey, address: '10.66.1.2', hub }));
  await client.ping(hub.hubAddress);
  const plan: ReadPlan = {
    ping: [{ publicKey: keys.publicKey, address: '10.66.1.2' }],
    pmtuPeer: keys.publicKey,
  };
  await capture(hub, config, plan, 'healthy');

  let undo = await dropOnWireGuard(hub, op);
  await capture(hub, config, plan, 'wg0-drop');
  await undo();

  undo = await openSshToAll(hub, op);
  await capture(hub, config, plan, 'ssh-open');
  await undo();

  undo = await startListener(hub, 8080);
  const undoSave = await enableSaveConfig(hub);
  const undoMode = await chmodFile(hub, HUB_WG_CONFIG, '644');
  await capture(hub, config, plan, 'holes');
  await Promise.all([undo(), undoSave(), undoMode()]);

  const undoForward = await setIpForward(hub, true);
  undo = await routeFullTunnel(hub, op);
  await capture(hub, config, plan, 'full-tunnel');
  await undo();
  undo = await routeFullTunnel(hub, op, { masquerade: false });
  await capture(hub, config, plan, 'full-tunnel-no-masquerade');
  await undo();
  await undoForward();

  const undoHubMtu = await lowerLinkMtu(hub, 1280);
  const undoClientMtu = await lowerLinkMtu(client, 1280);
  await capture(hub, config, plan, 'mtu-1280');
  await Promise.all([undoHubMtu(), undoClientMtu()]);

  const wrong = await generateWgKeyPair();
  const otherKeys = await generateWgKeyPair();
  await hub.exec(['wg', 'set', 'wg0', 'peer', otherKeys.publicKey, 'allowed-ips', '10.66.1.3/32']);
  await other.up(
    withWrongHubKey(
      renderLabClientConfig({ privateKey: otherKeys.privateKey, address: '10.66.1.3', hub }),
      wrong.publicKey,
    ),
  );
  await waitFor(
    async () => (await hub.exec(['grep', '-c', other.labAddress, '/proc/net/nf_conntrack'])).code === 0,
    10_000,
    100,
  );
  await capture(
    hub,
    config,
    { ping: [{ publicKey: otherKeys.publicKey, address: '10.66.1.3' }], pmtuPeer: otherKeys.publicKey },
    'wrong-hub-key',
  );
  await other.down();

  undo = await blockWireGuardPort(hub, op);
  await client.down();
  await client.up(renderLabClientConfig({ privateKey: keys.privateKey, address: '10.66.1.2', hub }));
  await waitFor(
    async () =>
      !(await hub.exec(['nft', 'list', 'chain', 'inet', 'filter', 'input'])).stdout.includes('packets 0 '),
    15_000,
    200,
  );
  await capture(hub, config, plan, 'udp-blocked');
  await undo();

  undo = await stopWireGuard(hub);
  await capture(hub, config, plan, 'wg-down');
  await undo();
} finally {
  await lab.stop();
}

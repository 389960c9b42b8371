/**
 * `npm run demo`: the main job end to end on the embedded defaults. A lab hub comes up (real
 * wireguard-go, sshd, nftables in namespaces), bob requests access, alice approves, the worker
 * provisions the peer over SSH, bob's config arrives privately, a lab client brings it up and
 * pings the hub through the tunnel; then bob's peer is revoked and the tunnel stops.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShellOutlet } from '../adapters/shell/shell.js';
import { handleText } from '../bot/dispatch.js';
import { UserId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { Message } from '../domain/models/reply.js';
import { labConfig } from '../lab/config.js';
import { startLab } from '../lab/lab.js';
import { startRuntime } from './runtime.js';

const say = (text: string) => process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);

/** Runs the guided demo. Returns 0 when the tunnel came up and went away as expected. */
export async function runDemo(logger: Logger): Promise<number> {
  say(
    'Starting a lab hub: wireguard-go behind wg-quick, OpenSSH with a pinned host key, default-drop nftables',
  );
  const lab = await startLab({ hubs: 1, clients: 1 });
  const dataDir = mkdtempSync(join(tmpdir(), 'tunnelgate-demo-'));
  let configText: string | undefined;
  const user = { id: 'bob' };
  const printer = new ShellOutlet(process.stdout, false, () => user.id);
  const outlet = {
    track: (jobId: string) => printer.track(jobId),
    async deliver(message: Message) {
      if (message.reply.kind === 'peer.config') configText = message.reply.configText;
      await printer.deliver(message);
    },
  };
  const config = labConfig(lab, { dataDir });
  const runtime = await startRuntime({ config, logger, worker: true, outlet });
  const run = async (as: string, line: string): Promise<Message[]> => {
    user.id = as;
    process.stdout.write(`\nvpn@${as}> ${line}\n`);
    const messages = await handleText(runtime.bot, { id: UserId.parse(as), platformRoles: [] }, line);
    for (const message of messages) {
      if (message.jobId !== undefined) printer.track(message.jobId);
      await outlet.deliver({ ...message, final: false });
    }
    return messages;
  };
  try {
    const hub = lab.hubs[0];
    const client = lab.clients[0];
    if (hub === undefined || client === undefined) throw new Error('the lab started without a hub or client');
    process.stdout.write(`hub ${hub.name} at ${hub.configEntry().endpoint}, tunnel subnet ${hub.subnet}\n`);

    say('bob asks for access for his laptop (split tunnel, the default)');
    const [pending] = await run('bob', '/vpn request laptop --reason "demo"');
    const requestId = pending?.reply.kind === 'request.pending' ? pending.reply.request.id : undefined;
    if (requestId === undefined) throw new Error('the request was not accepted');

    say('bob cannot approve his own request; alice (a lead) can');
    await run('bob', `/vpn approve ${requestId}`);
    await run('alice', `/vpn approve ${requestId}`);
    await printer.waitForJobs(60_000);
    if (configText === undefined) throw new Error('no client config was delivered');

    say('A lab client brings up the delivered config and pings the hub through the tunnel');
    await client.up(configText);
    const reached = await client.ping(hub.hubAddress, { count: 3, timeoutSec: 5 });
    process.stdout.write(`ping ${hub.hubAddress} through the tunnel: ${reached ? 'ok' : 'FAILED'}\n`);
    user.id = 'bob';
    await run('bob', '/vpn status');
    await printer.waitForJobs(30_000);

    say('bob revokes the peer; the tunnel stops working');
    await run('bob', '/vpn revoke bob-laptop');
    await printer.waitForJobs(60_000);
    const after = await client.ping(hub.hubAddress, { count: 1, timeoutSec: 2 });
    process.stdout.write(
      `ping ${hub.hubAddress} after revoke: ${after ? 'still answers (unexpected)' : 'no answer, as expected'}\n`,
    );

    say('The audit log, hash-chained');
    await run('alice', '/vpn log 10');
    say(reached && !after ? 'Demo complete' : 'Demo finished with problems (see above)');
    return reached && !after ? 0 : 1;
  } finally {
    await runtime.close();
    await lab.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

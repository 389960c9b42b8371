/**
 * `npm run demo`: the main job end to end on the embedded defaults. A lab hub comes up (real
 * wireguard-go, sshd, nftables in namespaces), bob requests access, alice approves, the worker
 * provisions the peer over SSH, bob's config arrives privately, a lab client brings it up and
 * pings the hub through the tunnel; then bob's peer is revoked and the tunnel stops. A second act
 * tells the on-call story: a lead's full tunnel (never approved by himself), forwarding switched
 * off on the hub, the on-call's diagnose naming the layer and the fix, a lead approving the fix,
 * and the clean re-diagnosis.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { ShellOutlet } from '../adapters/shell/shell.js';
import { handleText } from '../bot/dispatch.js';
import { UserId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { DiagnoseReport } from '../domain/models/diagnosis.js';
import type { Message } from '../domain/models/reply.js';
import type { LabClient } from '../lab/client.js';
import { labConfig } from '../lab/config.js';
import { routeFullTunnel, setIpForward } from '../lab/faults.js';
import type { LabHub } from '../lab/hub.js';
import { type Lab, startLab } from '../lab/lab.js';
import { startRuntime } from './runtime.js';

/** What an act needs: run a line as a user, and read what the workers sent back. */
interface Stage {
  lab: Lab;
  hub: LabHub;
  client: LabClient;
  say(text: string): void;
  write(text: string): void;
  run(as: string, line: string): Promise<Message[]>;
  /** Waits for every job started so far; their final messages are then in `finals`. */
  settle(ms: number): Promise<void>;
  finals: Map<string, Message>;
  configs: string[];
}

/** Runs the guided demo. Returns 0 when every act ended as expected. */
export async function runDemo(logger: Logger, output: Writable = process.stdout): Promise<number> {
  const write = (text: string) => output.write(text);
  const say = (text: string) => write(`\n\x1b[1m== ${text}\x1b[0m\n`);
  say(
    'Starting a lab hub: wireguard-go behind wg-quick, OpenSSH with a pinned host key, default-drop nftables',
  );
  const lab = await startLab({ hubs: 1, clients: 1 });
  const dataDir = mkdtempSync(join(tmpdir(), 'tunnelgate-demo-'));
  const user = { id: 'bob' };
  const printer = new ShellOutlet(output, false, () => user.id);
  const finals = new Map<string, Message>();
  const configs: string[] = [];
  const outlet = {
    track: (jobId: string) => printer.track(jobId),
    async deliver(message: Message) {
      if (message.reply.kind === 'peer.config') configs.push(message.reply.configText);
      if (message.final === true && message.jobId !== undefined) finals.set(message.jobId, message);
      await printer.deliver(message);
    },
  };
  const config = labConfig(lab, { dataDir, leads: ['alice', 'dave', 'erin'], oncall: ['carol'] });
  const runtime = await startRuntime({ config, logger, worker: true, outlet });
  try {
    const hub = lab.hubs[0];
    const client = lab.clients[0];
    if (hub === undefined || client === undefined) throw new Error('the lab started without a hub or client');
    const stage: Stage = {
      lab,
      hub,
      client,
      say,
      write,
      finals,
      configs,
      async run(as, line) {
        user.id = as;
        write(`\nvpn@${as}> ${line}\n`);
        const messages = await handleText(runtime.bot, { id: UserId.parse(as), platformRoles: [] }, line);
        for (const message of messages) {
          if (message.jobId !== undefined) printer.track(message.jobId);
          await outlet.deliver({ ...message, final: false });
        }
        return messages;
      },
      settle: (ms) => printer.waitForJobs(ms),
    };
    write(`hub ${hub.name} at ${hub.configEntry().endpoint}, tunnel subnet ${hub.subnet}\n`);
    const lifecycle = await lifecycleAct(stage);
    const onCall = lifecycle ? await onCallAct(stage) : false;
    say('The audit log, chained by HMACs with the deployment secret');
    await stage.run('alice', '/vpn log 20');
    const ok = lifecycle && onCall;
    say(ok ? 'Demo complete' : 'Demo finished with problems (see above)');
    return ok ? 0 : 1;
  } finally {
    await runtime.close();
    await lab.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** bob's laptop: request, approval, connect, status, revoke. True when the tunnel came and went. */
async function lifecycleAct(s: Stage): Promise<boolean> {
  s.say('bob asks for access for his laptop (split tunnel, the default)');
  const [pending] = await s.run('bob', '/vpn request laptop --reason "demo"');
  const requestId = pending?.reply.kind === 'request.pending' ? pending.reply.request.id : undefined;
  if (requestId === undefined) throw new Error('the request was not accepted');

  s.say('bob cannot approve his own request; alice (a lead) can');
  await s.run('bob', `/vpn approve ${requestId}`);
  await s.run('alice', `/vpn approve ${requestId}`);
  await s.settle(60_000);
  const configText = s.configs.at(-1);
  if (configText === undefined) throw new Error('no client config was delivered');

  s.say('A lab client brings up the delivered config and pings the hub through the tunnel');
  await s.client.up(configText);
  const reached = await s.client.ping(s.hub.hubAddress, { count: 3, timeoutSec: 5 });
  s.write(`ping ${s.hub.hubAddress} through the tunnel: ${reached ? 'ok' : 'FAILED'}\n`);
  await s.run('bob', '/vpn status');
  await s.settle(30_000);

  s.say('bob revokes the peer; the tunnel stops working');
  await s.run('bob', '/vpn revoke bob-laptop');
  await s.settle(60_000);
  const after = await s.client.ping(s.hub.hubAddress, { count: 1, timeoutSec: 2 });
  s.write(
    `ping ${s.hub.hubAddress} after revoke: ${after ? 'still answers (unexpected)' : 'no answer, as expected'}\n`,
  );
  await s.client.down();
  return reached && !after;
}

/**
 * dave's full tunnel, then an incident on the hub: forwarding off. True when the on-call's
 * diagnose named the routing layer and the approved fix made the re-diagnosis clean.
 */
async function onCallAct(s: Stage): Promise<boolean> {
  s.say('dave is a lead, and asks for a full tunnel: two other leads must approve, never dave himself');
  const [pending] = await s.run('dave', '/vpn request desk --full --reason "on-call this week"');
  const requestId = pending?.reply.kind === 'request.pending' ? pending.reply.request.id : undefined;
  if (requestId === undefined) throw new Error('the full-tunnel request was not accepted');
  await s.run('dave', `/vpn approve ${requestId}`);
  await s.run('alice', `/vpn approve ${requestId}`);
  await s.run('erin', `/vpn approve ${requestId}`);
  await s.settle(60_000);
  const configText = s.configs.at(-1);
  if (configText === undefined || !configText.includes('0.0.0.0/0')) throw new Error('no full-tunnel config');

  s.say(
    'The hub forwards and NATs full-tunnel traffic; the lab has no internet, so the client routes the tunnel subnet',
  );
  await setIpForward(s.hub, true);
  await routeFullTunnel(s.hub, s.lab.operatorAddress);
  await s.client.up(configText.replace(/^AllowedIPs = .*$/m, `AllowedIPs = ${s.hub.subnet}`));
  await s.client.ping(s.hub.hubAddress, { count: 3, timeoutSec: 5 });

  s.say('An incident: someone turned forwarding off on the hub. carol is on call and diagnoses dave-desk');
  await setIpForward(s.hub, false);
  const report = await diagnose(s, 'carol', 'dave-desk');
  const failed = report?.steps.find((step) => step.verdict === 'fail');
  const finding = failed?.findings.find((f) => f.action !== undefined);
  if (failed?.name !== 'routing' || finding === undefined) {
    s.write('the diagnosis did not name the routing layer with a fix (unexpected)\n');
    return false;
  }

  s.say(`carol proposes the fix for "${finding.check}"; only a lead may approve it, and alice does`);
  await s.run('carol', `/vpn fix ${finding.id}`);
  await s.run('carol', `/vpn fix ${finding.id} --approve`);
  const [queued] = await s.run('alice', `/vpn fix ${finding.id} --approve`);
  await s.settle(90_000);
  const after = queued?.jobId === undefined ? undefined : s.finals.get(queued.jobId);
  const clean =
    after?.reply.kind === 'diagnose.report' &&
    after.reply.report.steps.every((step) => step.verdict === 'pass');
  s.write(`re-diagnosis after the fix: ${clean ? 'every layer passes' : 'still failing (unexpected)'}\n`);

  s.say('The incident is over; dave revokes his full tunnel');
  await s.run('dave', '/vpn revoke dave-desk');
  await s.settle(60_000);
  await s.client.down();
  return clean;
}

async function diagnose(s: Stage, as: string, target: string): Promise<DiagnoseReport | undefined> {
  const [queued] = await s.run(as, `/vpn diagnose ${target}`);
  await s.settle(90_000);
  const done = queued?.jobId === undefined ? undefined : s.finals.get(queued.jobId);
  return done?.reply.kind === 'diagnose.report' ? done.reply.report : undefined;
}

/**
 * A real Tunnelgate with the Discord adapter (real discord.js) logged in to a local stand-in for
 * Discord's cloud, on a lab and the suite's Redis with a fresh prefix.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiscordAdapter } from '../../src/adapters/discord/adapter.js';
import { type Runtime, startRuntime } from '../../src/cli/runtime.js';
import { DiscordConfig, type TunnelgateConfig } from '../../src/config/schema.js';
import { labConfig } from '../../src/lab/config.js';
import type { Lab } from '../../src/lab/lab.js';
import { capturedLogger } from './captured-logger.js';
import { DiscordStandin, type StandinUser } from './discord-standin.js';
import { freshPrefix, redisUrl } from './redis.js';

export const GUILD = '400000000000000001';
export const APPROVALS_CHANNEL = '400000000000000002';
export const GENERAL_CHANNEL = '400000000000000003';
export const APPLICATION = '400000000000000004';
export const LEAD_ROLE = '400000000000000005';
export const ENGINEER_ROLE = '400000000000000006';

/**
 * Alice and Lena are leads by user id (and role); Rita is a lead by her guild role only, which the
 * bot's gates accept (the provisioning worker re-checks approvers by user id only, so her approvals
 * would not provision). Bob, Carol and Dan are engineers.
 */
export const USERS = {
  alice: { id: '500000000000000001', username: 'alice', roles: [LEAD_ROLE, ENGINEER_ROLE] },
  lena: { id: '500000000000000002', username: 'lena', roles: [LEAD_ROLE, ENGINEER_ROLE] },
  rita: { id: '500000000000000006', username: 'rita', roles: [LEAD_ROLE] },
  bob: { id: '500000000000000003', username: 'bob', roles: [ENGINEER_ROLE] },
  carol: { id: '500000000000000004', username: 'carol', roles: [ENGINEER_ROLE] },
  dan: { id: '500000000000000005', username: 'dan', roles: [ENGINEER_ROLE] },
} satisfies Record<string, StandinUser>;

export interface DiscordHarness {
  config: TunnelgateConfig;
  standin: DiscordStandin;
  runtime: Runtime;
  adapter: DiscordAdapter;
  log(): string;
  stop(): Promise<void>;
}

export async function startDiscordHarness(
  lab: Lab,
  name: string,
  options: { policy?: Record<string, unknown> } = {},
): Promise<DiscordHarness> {
  const fresh = freshPrefix(name);
  const dataDir = mkdtempSync(join(tmpdir(), 'tg-discord-'));
  const standin = await DiscordStandin.start({
    applicationId: APPLICATION,
    guildId: GUILD,
    channels: [GENERAL_CHANNEL, APPROVALS_CHANNEL],
    roles: [LEAD_ROLE, ENGINEER_ROLE],
    members: Object.values(USERS),
  });
  const discord = DiscordConfig.parse({
    token: 'stand-in-token',
    applicationId: APPLICATION,
    guildId: GUILD,
    approvalsChannel: APPROVALS_CHANNEL,
    engineerRole: ENGINEER_ROLE,
    apiUrl: standin.apiUrl,
  });
  const config: TunnelgateConfig = {
    ...labConfig(lab, {
      redisUrl: redisUrl(),
      prefix: fresh.prefix,
      dataDir,
      leads: [LEAD_ROLE, USERS.alice.id, USERS.lena.id],
      worker: { lockDuration: '5s', stalledInterval: '2s' },
      ...(options.policy === undefined ? {} : { policy: options.policy }),
    }),
    discord,
  };
  const { logger, log } = capturedLogger();
  const adapter = new DiscordAdapter(discord, logger);
  const runtime = await startRuntime({ config, logger, worker: true, outlet: adapter.outlet });
  await adapter.start(runtime.bot);
  return {
    config,
    standin,
    runtime,
    adapter,
    log,
    async stop() {
      await adapter.close();
      await runtime.close();
      await standin.close();
      await fresh.cleanup();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerCommands } from '../../../../src/adapters/discord/register.js';
import { TunnelgateConfig } from '../../../../src/config/schema.js';
import { DiscordStandin } from '../../../support/discord-standin.js';

describe('tunnelgate discord register', () => {
  let standin: DiscordStandin;
  beforeAll(async () => {
    standin = await DiscordStandin.start({
      applicationId: '41',
      guildId: '42',
      channels: [],
      roles: [],
      members: [],
    });
  });
  afterAll(async () => {
    await standin?.close();
  });

  const config = (discord: Record<string, unknown>) =>
    TunnelgateConfig.parse({
      hubs: [
        {
          name: 'hub1',
          host: '10.0.0.1',
          user: 'root',
          privateKeyPath: '/k',
          hostKey: 'ssh-ed25519 AAAA',
          endpoint: 'vpn.example.com:51820',
          subnet: '10.66.1.0/24',
        },
      ],
      discord: { token: 't', applicationId: '41', apiUrl: standin.apiUrl, ...discord },
    });

  it('bulk-overwrites /vpn in the guild, or globally with --global', async () => {
    expect(await registerCommands(config({ guildId: '42' }), { global: false })).toBe('in guild 42');
    expect(await registerCommands(config({ guildId: '42' }), { global: true })).toBe('globally');
    const puts = standin.rest().filter((r) => r.method === 'PUT');
    expect(puts.map((r) => r.path)).toEqual([
      '/applications/41/guilds/42/commands',
      '/applications/41/commands',
    ]);
    expect(puts[0]?.body).toEqual([expect.objectContaining({ name: 'vpn', type: 1 })]);
  });

  it('needs a token', async () => {
    await expect(
      registerCommands(config({ guildId: '42', token: undefined }), { global: true }),
    ).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
  });
});

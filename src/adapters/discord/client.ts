/**
 * The discord.js client Tunnelgate runs: guild, member and DM events (GuildMembers is a
 * privileged intent: enable "Server Members Intent" for the bot), partial members so a leaver who
 * was not cached is still reported, and the REST base URL from `discord.apiUrl` when set.
 */
import { Client, GatewayIntentBits, Partials } from 'discord.js';
import type { DiscordConfig } from '../../config/schema.js';

export function createDiscordClient(config: DiscordConfig): Client {
  return new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMembers, GatewayIntentBits.DirectMessages],
    partials: [Partials.GuildMember, Partials.User, Partials.Channel],
    rest: config.apiUrl === undefined ? {} : { api: config.apiUrl },
  });
}

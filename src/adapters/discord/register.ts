/**
 * `tunnelgate discord register`: installs `/vpn` with Discord's bulk-overwrite endpoint, for one
 * guild (updates show at once) or, with `global`, for every guild the bot is in (Discord may take
 * up to an hour to show those). Re-running it replaces the definition; nothing else is touched.
 */
import { REST, Routes } from 'discord.js';
import type { TunnelgateConfig } from '../../config/schema.js';
import { TunnelgateError } from '../../core/errors.js';
import { vpnCommandDefinition } from './slash-command.js';

export interface RegisterOptions {
  global: boolean;
}

/** Registers `/vpn`; returns where. Throws CONFIG_INVALID when a needed discord setting is missing. */
export async function registerCommands(config: TunnelgateConfig, options: RegisterOptions): Promise<string> {
  const discord = config.discord;
  if (discord?.token === undefined || discord.applicationId === undefined) {
    throw new TunnelgateError(
      'CONFIG_INVALID',
      'discord.token and discord.applicationId are needed to register /vpn',
      {
        hint: 'both are on the Developer Portal page of your application',
      },
    );
  }
  const { token, applicationId: app, guildId: guild } = discord;
  const rest = new REST(discord.apiUrl === undefined ? {} : { api: discord.apiUrl }).setToken(token);
  const route = options.global
    ? Routes.applicationCommands(app)
    : Routes.applicationGuildCommands(app, guild);
  await rest.put(route, { body: [vpnCommandDefinition(config)] });
  return options.global ? 'globally' : `in guild ${guild}`;
}

/**
 * The Discord adapter as one unit: create it before the runtime (the runtime's notifier needs its
 * outlet), then `start` it with the runtime's bot context to log in and handle events.
 */
import { type Client, Events } from 'discord.js';
import type { BotContext } from '../../bot/context.js';
import type { DiscordConfig } from '../../config/schema.js';
import { TunnelgateError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { createDiscordClient } from './client.js';
import { handleInteraction } from './interactions.js';
import { onMemberRemove, onMemberUpdate } from './member-events.js';
import { DiscordOutlet } from './outlet.js';

export class DiscordAdapter {
  readonly client: Client;
  readonly outlet: DiscordOutlet;

  /** Throws CONFIG_INVALID without `discord.token`. */
  constructor(
    private readonly config: DiscordConfig,
    private readonly logger: Logger,
  ) {
    if (config.token === undefined) {
      throw new TunnelgateError('CONFIG_INVALID', 'discord.token is not set', {
        hint: "set discord.token to the bot's token (Developer Portal -> Bot)",
      });
    }
    this.client = createDiscordClient(config);
    this.outlet = new DiscordOutlet(this.client, config, logger.child({ adapter: 'discord' }));
  }

  /** Wires the handlers and logs in; resolves once the gateway session is ready. */
  async start(ctx: BotContext): Promise<void> {
    const logger = this.logger.child({ adapter: 'discord' });
    const deps = {
      ctx,
      outlet: this.outlet,
      logger,
      guildId: this.config.guildId,
      engineerRole: this.config.engineerRole,
    };
    this.client.on(Events.InteractionCreate, (interaction) => void handleInteraction(deps, interaction));
    this.client.on(Events.GuildMemberRemove, (member) => void onMemberRemove(deps, member));
    this.client.on(Events.GuildMemberUpdate, (before, after) => void onMemberUpdate(deps, before, after));
    this.client.on(Events.ShardResume, (shard, replayed) =>
      logger.info({ shard, replayed }, 'gateway session resumed'),
    );
    this.client.on(Events.Error, (err) => logger.error({ err }, 'discord client error'));
    const ready = new Promise<void>((resolve) => this.client.once(Events.ClientReady, () => resolve()));
    await this.client.login(this.config.token);
    await ready;
    this.outlet.attach(ctx);
    logger.info({ user: this.client.user?.id }, 'discord adapter ready');
  }

  async close(): Promise<void> {
    await this.client.destroy();
  }
}

/**
 * Delivers the bot's messages on Discord. To a user: a follow-up on the interaction that started
 * the job while its token is valid, otherwise a DM; a client config always goes by DM to its
 * owner. To leads: the approvals channel, or a DM to each lead (user ids, and the cached members
 * of lead roles). Review messages are remembered per request and edited as the request moves.
 * Failures are logged, except a config's, which throws (DELIVERY_FAILED) so the notifier keeps the
 * sealed key, tells the owner how to fetch it again and retries.
 */

import { type Client, MessageFlags, Routes } from 'discord.js';
import { undelivered } from '../../bot/config-redelivery.js';
import type { BotContext } from '../../bot/context.js';
import type { Outlet } from '../../bot/outlet.js';
import type { DiscordConfig, RolesConfig } from '../../config/schema.js';
import type { Logger } from '../../core/logger.js';
import { LEAVE_ACTOR_ID } from '../../domain/authority.js';
import type { Message, Reply } from '../../domain/models/reply.js';
import { FollowUps } from './follow-ups.js';
import { type DiscordPayload, renderDiscord, renderReview } from './render.js';
import { ReviewStore } from './review-store.js';

/** The actor of the automatic offboarding hook; its messages go to the leads. */
export { LEAVE_ACTOR_ID };

export class DiscordOutlet implements Outlet {
  readonly followUps = new FollowUps();
  private ctx: BotContext | null = null;
  private reviews: ReviewStore | null = null;
  private markReady: () => void = () => {};
  private readonly ready = new Promise<void>((resolve) => {
    this.markReady = resolve;
  });

  constructor(
    private readonly client: Client,
    private readonly config: DiscordConfig,
    private readonly logger: Logger,
  ) {}

  /** Attaches the bot context once the runtime is up and the client is logged in. */
  attach(ctx: BotContext): void {
    this.ctx = ctx;
    this.reviews = new ReviewStore(ctx.redis, ctx.config.redis.prefix);
    this.markReady();
  }

  async deliver(message: Message): Promise<void> {
    await this.ready;
    const reply = message.reply;
    if (message.to.type === 'leads' || message.to.id === LEAVE_ACTOR_ID) {
      const posted = await this.toLeads(renderDiscord(reply));
      if (reply.kind === 'request.review') for (const p of posted) await this.reviewStore().add(reply, p);
    } else {
      await this.toUser(message.to.id, message, renderDiscord(reply));
    }
    if (message.final === true && message.jobId !== undefined) this.followUps.forget(message.jobId);
    await this.refreshReviews([message]);
  }

  /**
   * Re-renders the review messages of every request the messages mention, from the request's
   * current state: the buttons go once it is no longer pending. Failures are logged, not thrown.
   */
  async refreshReviews(messages: readonly Message[]): Promise<void> {
    const ids = new Set(messages.map((m) => requestIdOf(m.reply)).filter((id) => id !== undefined));
    for (const id of ids) {
      try {
        const record = await this.reviewStore().get(id);
        if (record === null) continue;
        const request = await this.context().requests.get(id);
        const payload = renderReview({ ...record.review, request });
        for (const posted of record.messages) {
          await this.client.rest.patch(Routes.channelMessage(posted.channelId, posted.messageId), {
            body: { embeds: payload.embeds, components: payload.components },
          });
        }
      } catch (err) {
        this.logger.warn({ err, requestId: id }, 'could not update the review message');
      }
    }
  }

  /** Posts to the approvals channel, or DMs every lead; returns where it was posted. */
  async toLeads(payload: DiscordPayload): Promise<{ channelId: string; messageId: string }[]> {
    await this.ready;
    const channelIds =
      this.config.approvalsChannel === undefined
        ? await Promise.all(this.leadUserIds(this.context().config.roles).map((id) => this.dmChannelId(id)))
        : [this.config.approvalsChannel];
    const posted: { channelId: string; messageId: string }[] = [];
    for (const channelId of channelIds) {
      if (channelId === null) continue;
      const sent = await this.send(channelId, payload);
      if (sent !== null) posted.push({ channelId, messageId: sent });
    }
    return posted;
  }

  private async toUser(userId: string, message: Message, payload: DiscordPayload): Promise<void> {
    if (message.reply.kind !== 'peer.config') {
      const interaction = this.followUps.find(message.jobId, userId);
      if (interaction !== null) {
        try {
          await interaction.followUp({ ...toOptions(payload), flags: MessageFlags.Ephemeral });
          return;
        } catch (err) {
          this.logger.info({ err, jobId: message.jobId }, 'follow-up failed; sending a DM instead');
        }
      }
    }
    if (message.reply.kind === 'peer.config') {
      await this.sendConfig(userId, message.reply.peer, payload);
      return;
    }
    const channelId = await this.dmChannelId(userId);
    if (channelId !== null) await this.send(channelId, payload);
  }

  /** DMs a config to its owner; throws DELIVERY_FAILED when Discord did not take it. */
  private async sendConfig(userId: string, peer: string, payload: DiscordPayload): Promise<void> {
    let channelId: string;
    try {
      channelId = (await this.client.users.createDM(userId)).id;
      await this.post(channelId, payload);
    } catch (err) {
      throw undelivered(peer, `Discord refused the direct message: ${(err as Error).message}`, err);
    }
  }

  private async dmChannelId(userId: string): Promise<string | null> {
    try {
      return (await this.client.users.createDM(userId)).id;
    } catch (err) {
      this.logger.warn({ err, userId }, 'could not open a DM');
      return null;
    }
  }

  /** Sends one message (multipart when it has files); returns its id, or null on failure. */
  private async send(channelId: string, payload: DiscordPayload): Promise<string | null> {
    try {
      return await this.post(channelId, payload);
    } catch (err) {
      this.logger.warn({ err, channelId }, 'could not send a Discord message');
      return null;
    }
  }

  /** Posts one message (multipart when it has files); returns its id. Throws what Discord answered. */
  private async post(channelId: string, payload: DiscordPayload): Promise<string> {
    const created = (await this.client.rest.post(Routes.channelMessages(channelId), {
      body: {
        content: payload.content,
        embeds: payload.embeds,
        components: payload.components,
        attachments: payload.files.map((f, id) => ({ id, filename: f.name })),
      },
      files: payload.files.map((f) => ({ name: f.name, data: f.data })),
    })) as { id: string };
    return created.id;
  }

  /** Lead user ids: listed ids that are not roles of the guild, plus cached members of lead roles. */
  private leadUserIds(roles: RolesConfig): string[] {
    const guild = this.client.guilds.cache.get(this.config.guildId);
    const ids = new Set<string>();
    for (const id of roles.leads) {
      const role = guild?.roles.cache.get(id);
      if (role === undefined) ids.add(id);
      else for (const member of role.members.values()) ids.add(member.id);
    }
    return [...ids];
  }

  private context(): BotContext {
    if (this.ctx === null) throw new Error('the Discord outlet is not attached to a bot context');
    return this.ctx;
  }

  private reviewStore(): ReviewStore {
    if (this.reviews === null) throw new Error('the Discord outlet is not attached to a bot context');
    return this.reviews;
  }
}

/** A payload as discord.js message options (files as attachments). */
export function toOptions(payload: DiscordPayload) {
  return {
    ...(payload.content === undefined ? {} : { content: payload.content }),
    embeds: payload.embeds,
    components: payload.components,
    files: payload.files.map((f) => ({ attachment: f.data, name: f.name })),
  };
}

/** The request a reply reports a change of (a new review or pending notice changes nothing yet). */
function requestIdOf(reply: Reply): string | undefined {
  switch (reply.kind) {
    case 'request.review':
    case 'request.pending':
      return undefined;
    default:
      return 'requestId' in reply && typeof reply.requestId === 'string' ? reply.requestId : undefined;
  }
}

/**
 * The offboarding hook: a member who leaves the guild, or loses `discord.engineerRole`, and still
 * owns peers or pending requests is offboarded. By default the leads are asked to confirm (a
 * message with an Offboard button, which runs `/vpn offboard` as the clicking lead, through the
 * usual lead check). With `policy.offboardOnLeave` the operators have decided in advance: the hook
 * runs the offboard command itself as the system actor `discord-leave`, which that policy — and
 * nothing else — makes a lead for this one command; the audit log records `discord-leave`.
 */
import type { GuildMember, PartialGuildMember } from 'discord.js';
import type { BotContext } from '../../bot/context.js';
import { userLeft } from '../../bot/departures.js';
import { runCommand } from '../../bot/dispatch.js';
import { UserId } from '../../core/ids.js';
import type { Logger } from '../../core/logger.js';
import type { Actor } from '../../domain/models/command.js';
import { type DiscordOutlet, LEAVE_ACTOR_ID } from './outlet.js';
import { renderOffboardPrompt } from './render.js';

export interface MemberEventDeps {
  ctx: BotContext;
  outlet: DiscordOutlet;
  logger: Logger;
  guildId: string;
  engineerRole: string | undefined;
}

/** `guildMemberRemove`: the member left or was removed. */
export async function onMemberRemove(
  deps: MemberEventDeps,
  member: GuildMember | PartialGuildMember,
): Promise<void> {
  if (member.guild.id !== deps.guildId) return;
  await offboardLeaver(deps, member.id, 'left the server');
}

/** `guildMemberUpdate`: acts when the engineer role is gone (and was held, when that is known). */
export async function onMemberUpdate(
  deps: MemberEventDeps,
  before: GuildMember | PartialGuildMember,
  after: GuildMember,
): Promise<void> {
  const role = deps.engineerRole;
  if (role === undefined || after.guild.id !== deps.guildId) return;
  if (after.roles.cache.has(role)) return;
  if (!before.partial && !before.roles.cache.has(role)) return;
  await offboardLeaver(deps, after.id, 'lost the engineer role');
}

/** Asks the leads, or offboards under `policy.offboardOnLeave`; nothing when the user owns nothing. */
export async function offboardLeaver(deps: MemberEventDeps, userId: string, why: string): Promise<void> {
  const { ctx } = deps;
  try {
    const user = UserId.parse(userId);
    const leaver = await userLeft(ctx, user, 'discord-offboard', why);
    if (leaver === null) return;
    if (!ctx.config.policy.offboardOnLeave) {
      await deps.outlet.toLeads(renderOffboardPrompt(user, why, leaver.peers, leaver.pending));
      return;
    }
    const actor: Actor = { id: UserId.parse(LEAVE_ACTOR_ID), platformRoles: [] };
    const roles = { ...ctx.config.roles, leads: [...ctx.config.roles.leads, LEAVE_ACTOR_ID] };
    const messages = await runCommand({ ...ctx, config: { ...ctx.config, roles } }, actor, {
      verb: 'offboard',
      user,
    });
    await deps.outlet.toLeads({
      content: `<@${user}> ${why}: offboarding automatically (policy.offboardOnLeave).`,
      embeds: [],
      components: [],
      files: [],
    });
    for (const message of messages) await deps.outlet.deliver(message);
  } catch (err) {
    deps.logger.error({ err, userId }, 'offboarding hook failed');
  }
}

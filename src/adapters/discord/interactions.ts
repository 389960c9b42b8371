/**
 * Answers `/vpn` invocations, button clicks and modal submits. Every interaction is deferred
 * (or, for Deny, answered with the reason modal) before any other work, well inside Discord's
 * 3 seconds; the command then runs through the same `runCommand` gate as every adapter, and its
 * result replaces the deferred reply. Replies to the actor are ephemeral; messages for others go
 * through the outlet (DMs, the approvals channel).
 */
import {
  ActionRowBuilder,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Interaction,
  MessageFlags,
  ModalBuilder,
  type ModalSubmitInteraction,
  type RepliableInteraction,
  TextInputBuilder,
  TextInputStyle,
} from 'discord.js';
import type { BotContext } from '../../bot/context.js';
import { toActor } from '../../bot/context.js';
import { runCommand } from '../../bot/dispatch.js';
import { TunnelgateError, toTunnelgateError } from '../../core/errors.js';
import { type RequestId, UserId } from '../../core/ids.js';
import type { Logger } from '../../core/logger.js';
import { errorReply } from '../../domain/error-reply.js';
import type { Actor, Command } from '../../domain/models/command.js';
import type { Message } from '../../domain/models/reply.js';
import { isLead } from '../../domain/roles.js';
import { type CustomId, decodeCustomId, encodeCustomId, REASON_INPUT } from './custom-ids.js';
import type { DiscordOutlet } from './outlet.js';
import { toOptions } from './outlet.js';
import { renderDiscord } from './render.js';
import { commandFromInvocation, type Invocation } from './slash-command.js';

export interface InteractionDeps {
  ctx: BotContext;
  outlet: DiscordOutlet;
  logger: Logger;
  /** The one guild served (`discord.guildId`); interactions from any other are refused. */
  guildId: string;
}

/**
 * Why an interaction must not run here, or undefined: it comes from another guild than the one
 * configured (a global registration reaches every guild the bot joins), or it is a slash command in
 * a DM (`/vpn` needs the guild: its roles and members are the configured guild's). Buttons and
 * forms on the bot's own DMs (reminders, lead prompts) carry no guild and may run.
 */
export function wrongPlace(
  from: string | null,
  configured: string,
  kind: 'command' | 'control',
): TunnelgateError | undefined {
  if (from === null) {
    return kind === 'command'
      ? new TunnelgateError('FORBIDDEN', '/vpn does not run in direct messages', {
          hint: 'use /vpn in the server this Tunnelgate serves',
        })
      : undefined;
  }
  if (from === configured) return undefined;
  return new TunnelgateError('FORBIDDEN', 'this Tunnelgate does not serve this server', {
    hint: 'use /vpn in the server it was set up for',
  });
}

/** Handles one interaction; never throws (failures are logged). */
export async function handleInteraction(deps: InteractionDeps, interaction: Interaction): Promise<void> {
  try {
    if (interaction.isRepliable()) {
      const kind = interaction.isChatInputCommand() ? 'command' : 'control';
      const refused = wrongPlace(interaction.guildId, deps.guildId, kind);
      if (refused !== undefined) {
        deps.logger.warn(
          { guild: interaction.guildId, user: interaction.user.id },
          'discord: refused an interaction from outside the guild',
        );
        await interaction.reply({
          ...toOptions(renderDiscord(errorReply(refused))),
          flags: MessageFlags.Ephemeral,
        });
        return;
      }
    }
    if (interaction.isChatInputCommand()) {
      if (interaction.commandName === 'vpn') await onSlashCommand(deps, interaction);
    } else if (interaction.isButton()) {
      await onButton(deps, interaction);
    } else if (interaction.isModalSubmit()) {
      await onModalSubmit(deps, interaction);
    }
  } catch (err) {
    deps.logger.error({ err, interaction: interaction.id }, 'Discord interaction failed');
  }
}

async function onSlashCommand(
  deps: InteractionDeps,
  interaction: ChatInputCommandInteraction,
): Promise<void> {
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const actor = actorOf(interaction);
  await runAndAnswer(deps, interaction, actor, () => commandFromInvocation(invocationOf(interaction)));
}

async function onButton(deps: InteractionDeps, interaction: ButtonInteraction): Promise<void> {
  const id = decodeCustomId(interaction.customId);
  if (id?.action === 'deny') {
    // The modal must be the first response; the lead check here only spares non-leads a form.
    // The real gate runs when the form is submitted.
    if (!isLead(actorOf(interaction), deps.ctx.config.roles)) {
      await interaction.reply({
        ...toOptions(
          renderDiscord(errorReply(new TunnelgateError('FORBIDDEN', 'only leads can deny requests'))),
        ),
        flags: MessageFlags.Ephemeral,
      });
      return;
    }
    await interaction.showModal(denyModal(id.requestId));
    return;
  }
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  await runAndAnswer(deps, interaction, actorOf(interaction), () => commandOfButton(id));
}

async function onModalSubmit(deps: InteractionDeps, interaction: ModalSubmitInteraction): Promise<void> {
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const id = decodeCustomId(interaction.customId);
  await runAndAnswer(deps, interaction, actorOf(interaction), () => {
    if (id?.action !== 'deny-reason') throw staleControl();
    const reason = interaction.fields.getTextInputValue(REASON_INPUT).trim();
    return { verb: 'deny', requestId: id.requestId, ...(reason === '' ? {} : { reason }) };
  });
}

function commandOfButton(id: CustomId | null): Command {
  switch (id?.action) {
    case 'approve':
      return { verb: 'approve', requestId: id.requestId };
    case 'offboard':
      return { verb: 'offboard', user: id.user };
    case 'rotate':
      return { verb: 'rotate', peer: id.peer };
    case 'remove':
      return { verb: 'revoke', peer: id.peer };
    case 'keep':
    case 'revoke':
      return { verb: 'review', action: id.action, peer: id.peer };
    default:
      throw staleControl();
  }
}

function staleControl(): TunnelgateError {
  return new TunnelgateError('INPUT_INVALID', 'this button or form is not one Tunnelgate knows', {
    hint: 'use the /vpn command instead',
  });
}

/**
 * Builds the command (a bad option is an error reply, not an exception), runs it, replaces the
 * deferred reply with the first message to the actor, follows up with the rest, and hands the
 * messages for others to the outlet. Jobs started here report back as follow-ups while the
 * interaction token is valid.
 */
async function runAndAnswer(
  deps: InteractionDeps,
  interaction: RepliableInteraction,
  actor: Actor,
  build: () => Command,
): Promise<void> {
  let messages: Message[];
  try {
    messages = await runCommand(deps.ctx, actor, build());
  } catch (thrown) {
    messages = [toActor(actor, errorReply(toTunnelgateError(thrown)))];
  }
  const mine = messages.filter(
    (m) => m.to.type === 'user' && m.to.id === actor.id && m.reply.kind !== 'peer.config',
  );
  const others = messages.filter((m) => !mine.includes(m));
  for (const m of mine) if (m.jobId !== undefined) deps.outlet.followUps.track(m.jobId, interaction);
  const [first, ...rest] = mine;
  await interaction.editReply(
    first === undefined ? { content: 'Done.' } : toOptions(renderDiscord(first.reply)),
  );
  for (const m of rest)
    await interaction.followUp({ ...toOptions(renderDiscord(m.reply)), flags: MessageFlags.Ephemeral });
  for (const m of others) await deps.outlet.deliver(m);
  await deps.outlet.refreshReviews(mine);
}

/** The invoking user and their guild role ids (lead roles may be Discord roles). */
export function actorOf(interaction: RepliableInteraction): Actor {
  const member = interaction.member;
  const roles =
    member === null
      ? []
      : Array.isArray(member.roles)
        ? member.roles
        : [...member.roles.cache.keys()].filter((id) => id !== interaction.guildId);
  return { id: UserId.parse(interaction.user.id), platformRoles: roles };
}

function invocationOf(interaction: ChatInputCommandInteraction): Invocation {
  const sub = interaction.options.data[0];
  const options: Invocation['options'] = {};
  for (const option of sub?.options ?? []) {
    if (option.value !== undefined && option.value !== null) options[option.name] = option.value;
  }
  return { subcommand: interaction.options.getSubcommand(), options };
}

function denyModal(requestId: RequestId): ModalBuilder {
  return new ModalBuilder()
    .setCustomId(encodeCustomId({ action: 'deny-reason', requestId }))
    .setTitle(`Deny ${requestId}`)
    .addComponents(
      new ActionRowBuilder<TextInputBuilder>().addComponents(
        new TextInputBuilder()
          .setCustomId(REASON_INPUT)
          .setLabel('Reason (told to the requester)')
          .setStyle(TextInputStyle.Short)
          .setRequired(false)
          .setMaxLength(300),
      ),
    );
}

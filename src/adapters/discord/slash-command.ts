/**
 * `/vpn` as a Discord application command: its definition (subcommands with typed options, for
 * `tunnelgate discord register`) and the translation of a received invocation into a validated
 * {@link Command}. Options arrive typed from Discord, so nothing here parses text.
 */
import { SlashCommandBuilder } from 'discord.js';
import { z } from 'zod';
import type { TunnelgateConfig } from '../../config/schema.js';
import { parseDuration } from '../../core/duration.js';
import { TunnelgateError } from '../../core/errors.js';
import { type Command, Command as CommandSchema, ListScope } from '../../domain/models/command.js';

/** Discord allows at most 25 choices per option; more hubs are typed freely. */
const MAX_CHOICES = 25;

/** The `/vpn` command as the JSON body of Discord's bulk-overwrite endpoint. */
export function vpnCommandDefinition(config: TunnelgateConfig) {
  const hubChoices =
    config.hubs.length <= MAX_CHOICES ? config.hubs.map((h) => ({ name: h.name, value: h.name })) : [];
  return new SlashCommandBuilder()
    .setName('vpn')
    .setDescription('WireGuard VPN access: request, approve, list and revoke peers')
    .setDMPermission(false)
    .addSubcommand((sub) =>
      sub
        .setName('request')
        .setDescription('Ask for VPN access for one device')
        .addStringOption((o) =>
          o
            .setName('device')
            .setDescription('A device label, e.g. laptop')
            .setRequired(true)
            .setMaxLength(24),
        )
        .addStringOption((o) =>
          o
            .setName('hub')
            .setDescription('The hub to join')
            .addChoices(...hubChoices),
        )
        .addBooleanOption((o) => o.setName('full').setDescription('Route all traffic through the VPN'))
        .addStringOption((o) =>
          o
            .setName('pubkey')
            .setDescription('Your own WireGuard public key (keeps the private key on your device)'),
        )
        .addStringOption((o) => o.setName('for').setDescription('Time-bound access, e.g. 8h or 7d'))
        .addStringOption((o) =>
          o.setName('reason').setDescription('Why you need it (required for full tunnel)').setMaxLength(300),
        ),
    )
    .addSubcommand((sub) =>
      sub
        .setName('approve')
        .setDescription('Approve a pending request (leads)')
        .addStringOption((o) => o.setName('request_id').setDescription('e.g. r-7k3m9q').setRequired(true)),
    )
    .addSubcommand((sub) =>
      sub
        .setName('deny')
        .setDescription('Deny a pending request (leads)')
        .addStringOption((o) => o.setName('request_id').setDescription('e.g. r-7k3m9q').setRequired(true))
        .addStringOption((o) =>
          o.setName('reason').setDescription('Told to the requester').setMaxLength(300),
        ),
    )
    .addSubcommand((sub) =>
      sub
        .setName('revoke')
        .setDescription('Remove one of your peers (leads: any peer)')
        .addStringOption((o) => o.setName('peer').setDescription('e.g. alice-laptop').setRequired(true)),
    )
    .addSubcommand((sub) =>
      sub
        .setName('resend')
        .setDescription('Get a config again whose direct message did not arrive')
        .addStringOption((o) => o.setName('peer').setDescription('e.g. alice-laptop').setRequired(true)),
    )
    .addSubcommand((sub) =>
      sub
        .setName('offboard')
        .setDescription('Remove every peer of a user and deny their open requests (leads)')
        .addUserOption((o) => o.setName('user').setDescription('Who leaves').setRequired(true)),
    )
    .addSubcommand((sub) =>
      sub
        .setName('list')
        .setDescription('List peers and pending requests')
        .addStringOption((o) =>
          o
            .setName('scope')
            .setDescription('Whose peers (default: yours)')
            .addChoices(...ListScope.options.map((s) => ({ name: s, value: s }))),
        ),
    )
    .addSubcommand((sub) =>
      sub
        .setName('status')
        .setDescription('Live status of your peers, or of one peer')
        .addStringOption((o) => o.setName('peer').setDescription('e.g. alice-laptop')),
    )
    .addSubcommand((sub) =>
      sub
        .setName('log')
        .setDescription('The latest audit log entries')
        .addIntegerOption((o) =>
          o.setName('count').setDescription('How many (default 20)').setMinValue(1).setMaxValue(200),
        ),
    )
    .addSubcommand((sub) =>
      sub
        .setName('diagnose')
        .setDescription('Find the broken layer of a peer or hub (read-only)')
        .addStringOption((o) =>
          o.setName('target').setDescription('A peer (e.g. alice-laptop) or a hub name').setRequired(true),
        ),
    )
    .addSubcommand((sub) =>
      sub
        .setName('audit')
        .setDescription("Check a hub for the guide's unnecessary holes (leads and on-call)")
        .addStringOption((o) =>
          o
            .setName('hub')
            .setDescription('The hub to audit (default: the only hub)')
            .addChoices(...hubChoices),
        ),
    )
    .addSubcommand((sub) =>
      sub
        .setName('fix')
        .setDescription("Propose a report's mechanical fix; a lead approves it")
        .addStringOption((o) =>
          o.setName('finding_id').setDescription('The id from a report, e.g. f-3k9m2q7a').setRequired(true),
        )
        .addBooleanOption((o) =>
          o.setName('approve').setDescription('Approve and apply the proposed fix (leads)'),
        ),
    )
    .addSubcommand((sub) =>
      sub
        .setName('rotate')
        .setDescription('Replace the key of one of your peers without downtime')
        .addStringOption((o) => o.setName('peer').setDescription('e.g. alice-laptop').setRequired(true))
        .addStringOption((o) =>
          o.setName('pubkey').setDescription('Your new public key (default: a new key pair)'),
        ),
    )
    .addSubcommand((sub) =>
      sub
        .setName('extend')
        .setDescription('Ask the leads to extend time-bound access')
        .addStringOption((o) => o.setName('peer').setDescription('e.g. alice-laptop').setRequired(true))
        .addStringOption((o) =>
          o.setName('for').setDescription('How much longer, e.g. 8h or 7d').setRequired(true),
        ),
    )
    .addSubcommand((sub) =>
      sub
        .setName('breakglass')
        .setDescription('On call for an open incident: time-bound access at once')
        .addStringOption((o) =>
          o
            .setName('hub')
            .setDescription('The hub')
            .setRequired(true)
            .addChoices(...hubChoices),
        )
        .addStringOption((o) =>
          o.setName('incident').setDescription('The open incident id').setRequired(true),
        )
        .addStringOption((o) => o.setName('for').setDescription('How long (default policy.breakGlass.for)'))
        .addBooleanOption((o) => o.setName('full').setDescription('Route all traffic through the VPN'))
        .addStringOption((o) => o.setName('reason').setDescription('What you are doing').setMaxLength(300)),
    )
    .addSubcommand((sub) =>
      sub
        .setName('review')
        .setDescription('Access reviews: start (leads), status, report, keep or revoke a peer')
        .addStringOption((o) =>
          o
            .setName('action')
            .setDescription('What to do')
            .setRequired(true)
            .addChoices(
              ...['start', 'status', 'report', 'keep', 'revoke'].map((a) => ({ name: a, value: a })),
            ),
        )
        .addStringOption((o) => o.setName('peer').setDescription('keep/revoke: e.g. alice-laptop'))
        .addStringOption((o) =>
          o
            .setName('hub')
            .setDescription('start: only this hub')
            .addChoices(...hubChoices),
        )
        .addStringOption((o) => o.setName('due').setDescription('start: answers due in, e.g. 14d'))
        .addStringOption((o) => o.setName('id').setDescription('report: a review id, e.g. v-7k3m9q')),
    )
    .addSubcommand((sub) =>
      sub
        .setName('reconcile')
        .setDescription('Compare hubs with the inventory: missing, foreign, overlapping peers (leads)')
        .addStringOption((o) =>
          o
            .setName('hub')
            .setDescription('The hub to reconcile (default: every hub)')
            .addChoices(...hubChoices),
        ),
    )
    .addSubcommand((sub) =>
      sub
        .setName('adopt')
        .setDescription('Put a peer made outside Tunnelgate under management (leads)')
        .addStringOption((o) =>
          o
            .setName('hub')
            .setDescription('The hub the peer is on')
            .setRequired(true)
            .addChoices(...hubChoices),
        )
        .addStringOption((o) =>
          o
            .setName('key_prefix')
            .setDescription('The start of its public key, as /vpn reconcile shows it')
            .setRequired(true)
            .setMaxLength(44),
        )
        .addUserOption((o) => o.setName('owner').setDescription('Who owns it from now on').setRequired(true))
        .addStringOption((o) =>
          o
            .setName('name')
            .setDescription('Its device name, e.g. office-gw')
            .setRequired(true)
            .setMaxLength(24),
        ),
    )
    .addSubcommand((sub) =>
      sub
        .setName('help')
        .setDescription('How to use /vpn')
        .addStringOption((o) => o.setName('topic').setDescription('A subcommand, e.g. request')),
    )
    .toJSON();
}

/** One received `/vpn` invocation: the subcommand and its option values by name. */
export const Invocation = z.object({
  subcommand: z.string(),
  options: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
});
export type Invocation = z.infer<typeof Invocation>;

/**
 * The command an invocation asks for, validated by the {@link Command} schema.
 * Throws INPUT_INVALID (with a hint) for a value the schema or the request rules reject.
 */
export function commandFromInvocation(invocation: Invocation): Command {
  const o = invocation.options;
  const candidate = (() => {
    switch (invocation.subcommand) {
      case 'request':
        return requestCandidate(o);
      case 'approve':
        return { verb: 'approve', requestId: o.request_id };
      case 'deny':
        return { verb: 'deny', requestId: o.request_id, ...defined('reason', trimmed(o.reason)) };
      case 'offboard':
        return { verb: 'offboard', user: o.user };
      case 'extend':
        return { verb: 'extend', peer: o.peer, ...defined('forMs', durationOf(o.for)) };
      case 'diagnose':
        return { verb: 'diagnose', target: o.target };
      case 'audit':
        return { verb: 'audit', ...defined('hub', o.hub) };
      case 'fix':
        return { verb: 'fix', findingId: o.finding_id, approve: o.approve === true };
      case 'breakglass':
        return {
          verb: 'breakglass',
          hub: o.hub,
          incident: o.incident,
          full: o.full === true,
          ...defined('forMs', durationOf(o.for)),
          ...defined('reason', trimmed(o.reason)),
        };
      case 'review': {
        const { due, id, ...rest } = o;
        return { verb: 'review', ...rest, ...defined('dueMs', durationOf(due)), ...defined('reviewId', id) };
      }
      case 'help':
        return { verb: 'help', ...defined('topic', trimmed(o.topic)?.toLowerCase()) };
      case 'adopt':
        return { verb: 'adopt', hub: o.hub, keyPrefix: o.key_prefix, owner: o.owner, device: o.name };
      default:
        return { verb: invocation.subcommand, ...renamed(o) };
    }
  })();
  const parsed = CommandSchema.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    // adopt's device is the `name` option (as --name in chat); everywhere else names match.
    const field = invocation.subcommand === 'adopt' && path === 'device' ? 'name' : optionName(path);
    throw new TunnelgateError(
      'INPUT_INVALID',
      `/vpn ${invocation.subcommand}: ${field === '' ? '' : `${field}: `}${issue?.message ?? 'invalid input'}`,
      { hint: 'see /vpn help' },
    );
  }
  return parsed.data;
}

function requestCandidate(o: Invocation['options']): Record<string, unknown> {
  const full = o.full === true;
  const reason = trimmed(o.reason);
  if (full && reason === undefined) {
    throw new TunnelgateError('INPUT_INVALID', 'full tunnel needs a reason', {
      hint: 'say in `reason` why this device should route all traffic through the VPN',
    });
  }
  const forMs = durationOf(o.for);
  return {
    verb: 'request',
    device: o.device,
    full,
    ...defined('hub', o.hub),
    ...defined('pubkey', o.pubkey),
    ...defined('forMs', forMs),
    ...defined('reason', reason),
  };
}

/** A duration option in milliseconds; undefined when absent. Throws INPUT_INVALID when malformed. */
function durationOf(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = parseDuration(value);
  if (ms === null || !Number.isSafeInteger(ms)) {
    throw new TunnelgateError('INPUT_INVALID', `"${value}" is not a valid duration`, {
      hint: 'use e.g. 30m, 8h, 7d or 1d12h',
    });
  }
  return ms;
}

/** Option names are snake_case on Discord and camelCase in the command model. */
function renamed(options: Invocation['options']): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(options).map(([name, value]) => [
      name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()),
      value,
    ]),
  );
}

/** A command model field as the Discord option users typed (`findingId` -> `finding_id`). */
function optionName(field: string): string {
  return field === 'forMs' ? 'for' : field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function trimmed(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  return text === '' ? undefined : text;
}

function defined(key: string, value: unknown): Record<string, unknown> {
  return value === undefined ? {} : { [key]: value };
}

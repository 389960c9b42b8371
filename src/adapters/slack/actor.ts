/**
 * Slack users as Tunnelgate actors. The Slack user id (`U0123ABC`) is the user id: it is stable,
 * unique and what `roles.leads` lists; display names are never trusted for identity. New peers are
 * named after the user's safe display name when the adapter found one (see user-names.ts), else
 * after this id, lower-cased (`u0123abc-laptop`).
 */

import { TunnelgateError } from '../../core/errors.js';
import { UserId } from '../../core/ids.js';
import type { Actor } from '../../domain/models/command.js';

/** The actor for a Slack user id; throws INPUT_INVALID for an id that is not one. */
export function slackActor(userId: string): Actor {
  const parsed = UserId.safeParse(userId);
  if (!parsed.success) throw new TunnelgateError('INPUT_INVALID', 'the request named no valid Slack user');
  return { id: parsed.data, platformRoles: [] };
}

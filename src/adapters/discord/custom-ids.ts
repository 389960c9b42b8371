/**
 * The `custom_id`s of Tunnelgate's buttons and modals. They carry the request, user or peer they
 * act on; Discord echoes them back verbatim, but a client could send anything, so every id is
 * parsed with the same id schemas as typed commands before it is used.
 */
import { z } from 'zod';
import { PeerName, RequestId, UserId } from '../../core/ids.js';

export const CustomId = z.discriminatedUnion('action', [
  z.object({ action: z.literal('approve'), requestId: RequestId }),
  /** Opens the reason modal. */
  z.object({ action: z.literal('deny'), requestId: RequestId }),
  /** The submitted reason modal. */
  z.object({ action: z.literal('deny-reason'), requestId: RequestId }),
  z.object({ action: z.literal('offboard'), user: UserId }),
  /** "Rotate now" on a key reminder. */
  z.object({ action: z.literal('rotate'), peer: PeerName }),
  /** Keep / Revoke on an access review's ask. */
  z.object({ action: z.literal('keep'), peer: PeerName }),
  z.object({ action: z.literal('revoke'), peer: PeerName }),
  /** "Revoke now" on a break-glass notice: a plain `/vpn revoke`. */
  z.object({ action: z.literal('remove'), peer: PeerName }),
]);
export type CustomId = z.infer<typeof CustomId>;

const PREFIX = 'tg';

/** The one value an action's id carries, by field name. */
const VALUE_FIELD = {
  approve: 'requestId',
  deny: 'requestId',
  'deny-reason': 'requestId',
  offboard: 'user',
  rotate: 'peer',
  keep: 'peer',
  revoke: 'peer',
  remove: 'peer',
} as const satisfies Record<CustomId['action'], string>;

/**
 * Encodes as `tg:<action>:<value>`. Within Discord's 100-character limit: the longest value is a
 * peer name (89 characters, no `:`), and `tg:rotate:`, `tg:revoke:` or `tg:remove:` adds 10.
 */
export function encodeCustomId(id: CustomId): string {
  return `${PREFIX}:${id.action}:${carriedValue(id)}`;
}

/** Decodes a custom id; null for ids that are not Tunnelgate's or do not validate. */
export function decodeCustomId(text: string): CustomId | null {
  const [prefix, action, value, ...rest] = text.split(':');
  if (prefix !== PREFIX || rest.length > 0 || value === undefined || !isAction(action)) return null;
  const parsed = CustomId.safeParse({ action, [VALUE_FIELD[action]]: value });
  return parsed.success ? parsed.data : null;
}

function carriedValue(id: CustomId): string {
  switch (id.action) {
    case 'approve':
    case 'deny':
    case 'deny-reason':
      return id.requestId;
    case 'offboard':
      return id.user;
    case 'rotate':
    case 'keep':
    case 'revoke':
    case 'remove':
      return id.peer;
    default: {
      const unreachable: never = id;
      return unreachable;
    }
  }
}

function isAction(action: string | undefined): action is CustomId['action'] {
  return action !== undefined && Object.hasOwn(VALUE_FIELD, action);
}

/** The text input of the deny modal. */
export const REASON_INPUT = 'reason';

/**
 * The `custom_id`s of Tunnelgate's buttons and modals. They carry the request or user they act on;
 * Discord echoes them back verbatim, but a client could send anything, so every id is parsed with
 * the same id schemas as typed commands before it is used.
 */
import { z } from 'zod';
import { RequestId, UserId } from '../../core/ids.js';

export const CustomId = z.discriminatedUnion('action', [
  z.object({ action: z.literal('approve'), requestId: RequestId }),
  /** Opens the reason modal. */
  z.object({ action: z.literal('deny'), requestId: RequestId }),
  /** The submitted reason modal. */
  z.object({ action: z.literal('deny-reason'), requestId: RequestId }),
  z.object({ action: z.literal('offboard'), user: UserId }),
]);
export type CustomId = z.infer<typeof CustomId>;

const PREFIX = 'tg';

/** Encodes as `tg:<action>:<id>` (well under Discord's 100-character limit). */
export function encodeCustomId(id: CustomId): string {
  return `${PREFIX}:${id.action}:${id.action === 'offboard' ? id.user : id.requestId}`;
}

/** Decodes a custom id; null for ids that are not Tunnelgate's or do not validate. */
export function decodeCustomId(text: string): CustomId | null {
  const [prefix, action, value, ...rest] = text.split(':');
  if (prefix !== PREFIX || rest.length > 0 || value === undefined) return null;
  const parsed = CustomId.safeParse(
    action === 'offboard' ? { action, user: value } : { action, requestId: value },
  );
  return parsed.success ? parsed.data : null;
}

/** The text input of the deny modal. */
export const REASON_INPUT = 'reason';

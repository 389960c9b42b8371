/**
 * The one translator from errors to chat replies. A {@link TunnelgateError} (or its serialised form
 * from a job result) keeps its code, message and hint; `stderrTail` and `cause` stay in operators'
 * logs. Anything else becomes a generic INTERNAL reply that reveals nothing about the failure.
 */
import { type ErrorCode, SerializedError, TunnelgateError } from '../core/errors.js';
import type { Reply } from './models/reply.js';

/** The `error` reply. */
export type ErrorReply = Extract<Reply, { kind: 'error' }>;

/** What to do next, per code, for errors that carry no hint of their own. */
export const DEFAULT_HINTS: Readonly<Record<ErrorCode, string>> = {
  CONFIG_INVALID: 'ask an operator to fix tunnelgate.yaml and restart Tunnelgate',
  INPUT_INVALID: 'check the command with /vpn help',
  KEY_INVALID:
    'paste the public key from your WireGuard app (44 characters ending in "="), or leave out --pubkey to get one',
  FORBIDDEN: 'ask a lead if you need this done',
  NOT_FOUND: 'check the name or id with /vpn list',
  CONFLICT: 'check the current state with /vpn list',
  SUBNET_EXHAUSTED: "ask an operator to revoke unused peers or enlarge the hub's subnet",
  HOST_KEY_UNKNOWN: "ask an operator to pin the hub's host key (knownHosts or hostKey in tunnelgate.yaml)",
  HOST_KEY_MISMATCH: "ask an operator to check the hub's host key: it differs from the pinned one",
  SSH_AUTH_FAILED: "ask an operator to check Tunnelgate's SSH key and user on the hub",
  SSH_UNREACHABLE: 'the hub may be down: try again in a few minutes, or ask an operator to check it',
  SSH_TIMEOUT: 'the hub is slow to answer: try again in a few minutes',
  SSH_CHANNEL: "try again in a moment; if it keeps failing, ask an operator to check the hub's sshd",
  HUB_COMMAND_FAILED: "try again later; operators have the hub's error output in the logs",
  HUB_STATE_INVALID: "ask an operator to inspect the hub's WireGuard config",
  VERIFY_FAILED: 'the change could not be confirmed on the hub: ask on-call to check it with /vpn status',
  LAB_UNAVAILABLE: 'start the test lab and try again',
  PROVIDER_UNAVAILABLE: 'the on-call provider did not answer properly: try again, or ask a lead',
  DELIVERY_FAILED: 'allow direct messages from the bot, then run /vpn resend <peer>',
  INTERNAL: 'try again; if it keeps failing, tell an operator',
};

const INTERNAL_MESSAGE = 'something went wrong inside Tunnelgate; operators have the details in the logs';

/**
 * Turns anything thrown (or a serialised error from a job result) into an `error` reply. INTERNAL
 * errors always get the generic message: theirs may quote an underlying exception.
 */
export function errorReply(err: unknown): ErrorReply {
  const known = err instanceof TunnelgateError ? err.toJSON() : asSerialized(err);
  if (known === null || known.code === 'INTERNAL') {
    return { kind: 'error', code: 'INTERNAL', message: INTERNAL_MESSAGE, hint: DEFAULT_HINTS.INTERNAL };
  }
  return {
    kind: 'error',
    code: known.code,
    message: known.message,
    hint: known.hint ?? DEFAULT_HINTS[known.code],
  };
}

/** A plain serialised error from a job result; never an Error instance (those may be anything). */
function asSerialized(err: unknown): SerializedError | null {
  if (err instanceof Error) return null;
  const parsed = SerializedError.safeParse(err);
  return parsed.success ? parsed.data : null;
}

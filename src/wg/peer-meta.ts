/**
 * Tunnelgate's bookkeeping for a peer, kept on the hub itself as one comment line inside the
 * peer's `[Peer]` section, so the config file alone says who owns which key:
 *
 *     # tunnelgate: {"peer":"alice-laptop","owner":"alice",...,"mode":"split"}
 *
 * WireGuard ignores comments, and wg-quick keeps them as long as SaveConfig is off.
 */
import { z } from 'zod';
import { TunnelgateError } from '../core/errors.js';
import { DeviceName, PeerName, RequestId, UserId } from '../core/ids.js';
import { PublicKey } from './keys.js';

/** The exact start of a metadata comment line. */
export const PEER_META_PREFIX = '# tunnelgate: ';

/** The metadata of one peer. Unknown keys are dropped when parsing. */
export const PeerMeta = z.object({
  peer: PeerName,
  owner: UserId,
  device: DeviceName,
  /** The request that created this peer. */
  request: RequestId,
  /** ISO timestamp of provisioning. */
  created: z.iso.datetime(),
  /** ISO timestamp after which the peer is revoked; null for no expiry. */
  expires: z.iso.datetime().nullable(),
  /** Split tunnels route only the hub's routes; full tunnels route everything. */
  mode: z.enum(['split', 'full']),
  /** Set by key rotation: the public key this peer replaced. */
  rotatedFrom: PublicKey.optional(),
});
export type PeerMeta = z.infer<typeof PeerMeta>;

function describe(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || 'meta'}: ${issue.message}`).join('; ');
}

/** True when the raw line (a trailing `\r` allowed) is a metadata comment. */
export function isPeerMetaLine(line: string): boolean {
  return line.startsWith(PEER_META_PREFIX.trimEnd());
}

/**
 * Renders the comment line with keys in schema order, so files diff cleanly. Throws INPUT_INVALID
 * when `meta` does not match {@link PeerMeta}.
 */
export function formatPeerMetaLine(meta: PeerMeta): string {
  const parsed = PeerMeta.safeParse(meta);
  if (!parsed.success) {
    throw new TunnelgateError('INPUT_INVALID', `invalid peer metadata: ${describe(parsed.error)}`);
  }
  return `${PEER_META_PREFIX}${JSON.stringify(parsed.data)}`;
}

/**
 * Parses a metadata comment line. Throws HUB_STATE_INVALID when the JSON is broken or does not
 * match {@link PeerMeta}; `lineNumber` goes into the message so the line can be fixed by hand.
 */
export function parsePeerMetaLine(line: string, lineNumber: number): PeerMeta {
  const json = line.trimEnd().slice(PEER_META_PREFIX.trimEnd().length).trim();
  const where = `WireGuard config line ${lineNumber}: the tunnelgate comment`;
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (cause) {
    throw new TunnelgateError('HUB_STATE_INVALID', `${where} is not valid JSON`, { cause });
  }
  const parsed = PeerMeta.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new TunnelgateError('HUB_STATE_INVALID', `${where} is invalid (${describe(parsed.error)})`);
}

/**
 * Parser for `wg show <interface> dump`, the hub's live state: one tab-separated interface line,
 * then one line per peer. Secrets in the dump (the interface private key, preshared keys) are
 * checked for shape and dropped, so a parsed dump is safe to store in Redis and to log.
 */
import { z } from 'zod';
import { TunnelgateError } from '../core/errors.js';
import { Cidr, tryParseAddress } from './cidr.js';
import { PublicKey } from './keys.js';

const NONE = '(none)';
/** What Tunnelgate's dump step prints instead of the interface private key. */
export const HIDDEN = '(hidden)';
const DECIMAL = /^(?:0|[1-9]\d*)$/;
const HEX = /^0x[0-9a-fA-F]+$/;
const ENDPOINT = /^(?:\[(?<v6>[0-9a-fA-F:.]+)(?:%[A-Za-z0-9_.-]+)?\]|(?<v4>[0-9.]+)):(?<port>\d{1,5})$/;

/** True for `198.51.100.7:51820` and `[2001:db8::5]:51820` (with an optional `%zone`). */
function isEndpoint(text: string): boolean {
  const groups = ENDPOINT.exec(text)?.groups;
  if (groups === undefined || Number(groups.port) > 65_535) return false;
  const host = tryParseAddress(groups.v6 ?? groups.v4 ?? '');
  return host !== null && host.family === (groups.v6 === undefined ? 4 : 6);
}

/** The interface line, without its private key. */
export const DumpInterface = z.object({
  /** Null while the interface has no private key. */
  publicKey: PublicKey.nullable(),
  /** 0 only before the interface is configured; wireguard-go then picks a random port. */
  listenPort: z.number().int().min(0).max(65_535),
  /** Null when off. */
  fwmark: z.number().int().min(1).nullable(),
});
export type DumpInterface = z.infer<typeof DumpInterface>;

/** One peer line. The preshared key itself is dropped; only its presence is kept. */
export const DumpPeer = z.object({
  publicKey: PublicKey,
  hasPresharedKey: z.boolean(),
  /** `host:port` as the hub last saw it, IPv6 in brackets; null before the first handshake. */
  endpoint: z.string().refine(isEndpoint, { error: 'expected ip:port or [ipv6]:port' }).nullable(),
  allowedIps: z.array(Cidr),
  /** Unix time in seconds (as `wg` reports it) of the latest handshake; null when never. */
  latestHandshake: z.number().int().min(1).nullable(),
  /** Bytes received from the peer. */
  transferRx: z.number().int().min(0),
  /** Bytes sent to the peer. */
  transferTx: z.number().int().min(0),
  /** Seconds between keepalives; null when off. */
  persistentKeepalive: z.number().int().min(1).max(65_535).nullable(),
});
export type DumpPeer = z.infer<typeof DumpPeer>;

/** A parsed `wg show <interface> dump`. */
export const WgDump = z.object({ interface: DumpInterface, peers: z.array(DumpPeer) });
export type WgDump = z.infer<typeof WgDump>;

function invalid(line: number, problem: string): TunnelgateError {
  const message = `unexpected \`wg show dump\` output, line ${line}: ${problem}`;
  return new TunnelgateError('HUB_STATE_INVALID', message, {
    hint: 'check that the hub runs a standard wireguard-tools `wg`',
  });
}

function fields(text: string, line: number, count: number, what: string): string[] {
  const parts = text.split('\t');
  if (parts.length !== count) {
    throw invalid(line, `expected ${count} tab-separated fields (${what}), found ${parts.length}`);
  }
  return parts;
}

function integer(text: string, line: number, field: string): number {
  const value = DECIMAL.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value)) {
    throw invalid(line, `${field} ${JSON.stringify(text)} is not a whole number`);
  }
  return value;
}

function key(text: string, line: number, field: string): PublicKey {
  const parsed = PublicKey.safeParse(text);
  if (!parsed.success) throw invalid(line, `${field}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** Checks a secret's shape without ever putting it in a message. */
function checkSecret(text: string, line: number, field: string): boolean {
  if (text === NONE) return false;
  if (!PublicKey.safeParse(text).success) throw invalid(line, `${field} is not a WireGuard key`);
  return true;
}

function parseInterface(text: string): DumpInterface {
  const [privateKey = '', publicKey = '', listenPort = '', fwmark = ''] = fields(
    text,
    1,
    4,
    'private-key, public-key, listen-port, fwmark',
  );
  // Tunnelgate's hub steps replace the key with `(hidden)` on the hub, so it never crosses SSH.
  if (privateKey !== HIDDEN) checkSecret(privateKey, 1, 'private-key');
  const port = integer(listenPort, 1, 'listen-port');
  if (port > 65_535) throw invalid(1, `listen-port ${port} is out of range`);
  if (fwmark !== 'off' && !HEX.test(fwmark) && !DECIMAL.test(fwmark)) {
    throw invalid(1, `fwmark ${JSON.stringify(fwmark)} is neither "off" nor a number`);
  }
  const mark = fwmark === 'off' ? null : Number(fwmark);
  return {
    publicKey: publicKey === NONE ? null : key(publicKey, 1, 'public-key'),
    listenPort: port,
    fwmark: mark === 0 ? null : mark,
  };
}

function parsePeer(text: string, line: number): DumpPeer {
  const [
    publicKey = '',
    psk = '',
    endpoint = '',
    allowedIps = '',
    handshake = '',
    rx = '',
    tx = '',
    keepalive = '',
  ] = fields(
    text,
    line,
    8,
    'public-key, preshared-key, endpoint, allowed-ips, latest-handshake, transfer-rx, transfer-tx, persistent-keepalive',
  );
  if (endpoint !== NONE && !isEndpoint(endpoint)) {
    throw invalid(line, `endpoint ${JSON.stringify(endpoint)} is not ip:port or [ipv6]:port`);
  }
  const ips = allowedIps === NONE ? [] : allowedIps.split(',');
  const cidrs = ips.map((ip) => {
    const parsed = Cidr.safeParse(ip);
    if (!parsed.success) throw invalid(line, `allowed-ips: ${parsed.error.issues[0]?.message}`);
    return parsed.data;
  });
  const seconds = integer(handshake, line, 'latest-handshake');
  const interval = keepalive === 'off' ? null : integer(keepalive, line, 'persistent-keepalive');
  if (interval !== null && (interval < 1 || interval > 65_535)) {
    throw invalid(line, `persistent-keepalive ${interval} is out of range`);
  }
  return {
    publicKey: key(publicKey, line, 'public-key'),
    hasPresharedKey: checkSecret(psk, line, 'preshared-key'),
    endpoint: endpoint === NONE ? null : endpoint,
    allowedIps: cidrs,
    latestHandshake: seconds === 0 ? null : seconds,
    transferRx: integer(rx, line, 'transfer-rx'),
    transferTx: integer(tx, line, 'transfer-tx'),
    persistentKeepalive: interval,
  };
}

/**
 * Parses the output of `wg show <interface> dump` (not `wg show all dump`, which adds a leading
 * interface column). Throws HUB_STATE_INVALID naming the first bad line; messages never contain
 * the private or preshared keys.
 */
export function parseDump(text: string): WgDump {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const [first, ...rest] = lines;
  if (first === undefined) throw invalid(1, 'the output is empty, expected the interface line');
  return {
    interface: parseInterface(first),
    peers: rest.map((line, i) => parsePeer(line, i + 2)),
  };
}

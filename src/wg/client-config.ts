/**
 * The wg-quick file handed to a user for their device (as text or QR code). It carries the
 * user's private key, so it is rendered on demand and never stored.
 */
import { z } from 'zod';
import { TunnelgateError } from '../core/errors.js';
import { Cidr, tryParseAddress, tryParseCidr } from './cidr.js';
import { PrivateKey, PublicKey } from './keys.js';

/**
 * Every client keeps NAT mappings open with this interval, per the WireGuard quick start: the
 * PersistentKeepalive of every client config the bot delivers (recorded with the peer).
 */
export const KEEPALIVE_SECONDS = 25;
const FULL_TUNNEL = ['0.0.0.0/0', '::/0'];
const ENDPOINT = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(?<port>\d{1,5})$/;

/** Written instead of the private key when the user generated the key pair on their device. */
export const PRIVATE_KEY_PLACEHOLDER = '<your private key>';

/** A single-host block of one family: `/32` for IPv4, `/128` for IPv6. */
function hostAddress(family: 4 | 6) {
  const prefix = family === 4 ? 32 : 128;
  return Cidr.refine(
    (text) => {
      const cidr = tryParseCidr(text);
      return cidr !== null && cidr.family === family && cidr.prefix === prefix;
    },
    { error: (issue) => `${JSON.stringify(issue.input)} is not an IPv${family} /${prefix} address` },
  );
}

/** Everything a client config needs; see {@link renderClientConfig}. */
export const ClientConfigInput = z
  .object({
    /** Null when the user kept their own private key: {@link PRIVATE_KEY_PLACEHOLDER} is written. */
    privateKey: PrivateKey.nullable(),
    /** The client's IPv4 tunnel address, `/32`. */
    address: hostAddress(4),
    /** The client's IPv6 tunnel address, `/128`, when the hub has an IPv6 subnet. */
    address6: hostAddress(6).optional(),
    /** Resolvers to use inside the tunnel; the DNS line is left out when empty. */
    dns: z.array(
      z.string().refine((text) => tryParseAddress(text) !== null, {
        error: (issue) => `${JSON.stringify(issue.input)} is not an IP address`,
      }),
    ),
    hubPublicKey: PublicKey,
    /** What the client dials: `host:port`, IPv6 in brackets. */
    endpoint: z.string().refine(
      (text) => {
        const port = Number(ENDPOINT.exec(text)?.groups?.port ?? 0);
        return port >= 1 && port <= 65_535;
      },
      { error: (issue) => `${JSON.stringify(issue.input)} is not host:port` },
    ),
    /** Split routes only `routes` through the hub; full routes everything, IPv4 and IPv6. */
    mode: z.enum(['split', 'full']),
    /** The split-tunnel AllowedIPs; ignored in full mode. */
    routes: z.array(Cidr),
    /** Omitted by default so wg-quick picks it; 1280 is the IPv6 minimum. */
    mtu: z.number().int().min(1280).max(9000).optional(),
  })
  .refine((input) => input.mode === 'full' || input.routes.length > 0, {
    path: ['routes'],
    error: 'a split tunnel needs at least one route',
  });
export type ClientConfigInput = z.infer<typeof ClientConfigInput>;

/**
 * Renders the client's wg-quick file: `[Interface]` with PrivateKey, Address, DNS and MTU, then
 * one `[Peer]` for the hub with `PersistentKeepalive = 25`. Throws INPUT_INVALID (the message
 * never contains the private key).
 */
export function renderClientConfig(input: z.input<typeof ClientConfigInput>): string {
  const parsed = ClientConfigInput.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => (i.path.length > 0 ? `${i.path.join('.')}: ` : '') + i.message,
    );
    throw new TunnelgateError('INPUT_INVALID', `invalid client config: ${problems.join('; ')}`);
  }
  const config = parsed.data;
  const addresses = config.address6 === undefined ? [config.address] : [config.address, config.address6];
  const lines = [
    '[Interface]',
    `PrivateKey = ${config.privateKey ?? PRIVATE_KEY_PLACEHOLDER}`,
    `Address = ${addresses.join(', ')}`,
  ];
  if (config.dns.length > 0) lines.push(`DNS = ${config.dns.join(', ')}`);
  if (config.mtu !== undefined) lines.push(`MTU = ${config.mtu}`);
  lines.push(
    '',
    '[Peer]',
    `PublicKey = ${config.hubPublicKey}`,
    `Endpoint = ${config.endpoint}`,
    `AllowedIPs = ${(config.mode === 'full' ? FULL_TUNNEL : config.routes).join(', ')}`,
    `PersistentKeepalive = ${KEEPALIVE_SECONDS}`,
  );
  return `${lines.join('\n')}\n`;
}

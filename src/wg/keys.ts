/**
 * WireGuard Curve25519 keys: validation (exactly what `wg` accepts) and generation with node:crypto,
 * so the bot never needs `wg genkey` on the machine it runs on.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { z } from 'zod';
import { TunnelgateError } from '../core/errors.js';

/**
 * 43 base64 characters plus `=`. The last character before `=` carries only 4 data bits, so its
 * low 2 bits must be zero; `wg` rejects any other spelling of the same 32 bytes, and so do we.
 */
const KEY_BASE64 = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
const EXPECTED = 'expected 44 characters of base64 encoding 32 bytes';
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** Echoes at most 60 characters of a rejected public value, so a pasted essay stays readable. */
function quote(input: unknown): string {
  const text = JSON.stringify(input) ?? String(input);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** A peer's or hub's public key, e.g. from `/vpn request --pubkey` or `wg show dump`. */
export const PublicKey = z
  .string()
  .refine((value) => KEY_BASE64.test(value), {
    error: (issue) => `${quote(issue.input)} is not a WireGuard key: ${EXPECTED}`,
  })
  .brand<'PublicKey'>();
export type PublicKey = z.infer<typeof PublicKey>;

/** A private key. Its error message never repeats the value, which may be a near-miss secret. */
export const PrivateKey = z
  .string()
  .refine((value) => KEY_BASE64.test(value), { error: `not a WireGuard private key: ${EXPECTED}` })
  .brand<'PrivateKey'>();
export type PrivateKey = z.infer<typeof PrivateKey>;

/** Which kind of key {@link parseKey} expects. */
export type KeyKind = 'public' | 'private';

/** A freshly generated key pair. The private half must only ever go to its owner. */
export interface KeyPair {
  privateKey: PrivateKey;
  publicKey: PublicKey;
}

/**
 * Validates a key typed by a user or read from a hub (surrounding whitespace is trimmed).
 * Throws TunnelgateError KEY_INVALID with the schema's message.
 */
export function parseKey(kind: 'public', value: string): PublicKey;
export function parseKey(kind: 'private', value: string): PrivateKey;
export function parseKey(kind: KeyKind, value: string): PublicKey | PrivateKey;
export function parseKey(kind: KeyKind, value: string): PublicKey | PrivateKey {
  const result = (kind === 'public' ? PublicKey : PrivateKey).safeParse(value.trim());
  if (result.success) return result.data;
  throw new TunnelgateError('KEY_INVALID', result.error.issues[0]?.message ?? `not a WireGuard ${kind} key`, {
    hint: 'paste the output of `wg pubkey`, or leave the key out and the bot will generate one',
  });
}

function base64UrlToBase64(text: string): string {
  return Buffer.from(text, 'base64url').toString('base64');
}

/**
 * Generates an X25519 key pair. The private key is clamped like `wg genkey` output; the public
 * key is unaffected by clamping because X25519 clamps the scalar anyway.
 */
export function generateKeyPair(): KeyPair {
  const jwk = generateKeyPairSync('x25519').privateKey.export({ format: 'jwk' });
  if (jwk.d === undefined || jwk.x === undefined) {
    throw new Error('node:crypto returned an X25519 JWK without d or x');
  }
  const raw = Buffer.from(jwk.d, 'base64url');
  raw[0] = (raw[0] ?? 0) & 248;
  raw[31] = ((raw[31] ?? 0) & 127) | 64;
  return {
    privateKey: PrivateKey.parse(raw.toString('base64')),
    publicKey: PublicKey.parse(base64UrlToBase64(jwk.x)),
  };
}

/** Derives the public key, like `wg pubkey`. Throws KEY_INVALID when `privateKey` is malformed. */
export function publicKeyFromPrivate(privateKey: string): PublicKey {
  const raw = Buffer.from(parseKey('private', privateKey), 'base64');
  const key = createPrivateKey({
    key: Buffer.concat([PKCS8_X25519_PREFIX, raw]),
    format: 'der',
    type: 'pkcs8',
  });
  const { x } = createPublicKey(key).export({ format: 'jwk' });
  if (x === undefined) throw new Error('node:crypto returned an X25519 public JWK without x');
  return PublicKey.parse(base64UrlToBase64(x));
}

/**
 * Message authentication with the deployment secret. Anyone who can write to Redis could otherwise
 * forge an approval, a job or an audit entry; records that grant power carry a MAC that only a
 * Tunnelgate process holding the secret can make, and workers check it before acting.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a MAC authenticates; each purpose uses its own key, so one MAC never passes as another. */
export type MacPurpose = 'decision' | 'job' | 'audit';

/** Makes MACs (hex HMAC-SHA256) with keys derived from the deployment secret. */
export interface Signer {
  mac(purpose: MacPurpose, text: string): string;
}

/** A signer over per-purpose keys (see `KeyVault.signer`). */
export function hmacSigner(keys: Readonly<Record<MacPurpose, Buffer>>): Signer {
  return { mac: (purpose, text) => createHmac('sha256', keys[purpose]).update(text).digest('hex') };
}

/** True when `mac` is the MAC of `text` for `purpose` (constant-time comparison). */
export function verifyMac(signer: Signer, purpose: MacPurpose, text: string, mac: string): boolean {
  const expected = Buffer.from(signer.mac(purpose, text), 'hex');
  const given = Buffer.from(/^[0-9a-f]{64}$/.test(mac) ? mac : '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** JSON with keys sorted at every level and undefined left out: the text a MAC or digest covers. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const fields = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`);
    return `{${fields.join(',')}}`;
  }
  return JSON.stringify(value);
}

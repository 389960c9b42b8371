/**
 * OpenSSH known_hosts parsing: which host keys are pinned for a host and port. Supports plain and
 * `[host]:port` names, comma lists, `*`/`?` wildcards with `!` negation, hashed `|1|salt|hash`
 * names, comments and the `@revoked` marker. `@cert-authority` lines are skipped: ssh2 does not
 * verify host certificates, so a CA line can never vouch for a hub.
 */
import { createHash, createHmac } from 'node:crypto';

/** One usable known_hosts line. */
export interface KnownHostsEntry {
  /** The comma-separated host patterns as written (hashed entries stay hashed). */
  readonly hosts: string;
  /** `@revoked` lines name keys that must be refused even when another line pins them. */
  readonly revoked: boolean;
  /** Key type as written, e.g. `ssh-ed25519`. */
  readonly keyType: string;
  /** The decoded public key blob, exactly what the server sends during key exchange. */
  readonly key: Buffer;
  /** 1-based line number, for messages. */
  readonly line: number;
}

/** A bare public key, as in `hostKey: ssh-ed25519 AAAA…`. */
export interface PublicKey {
  readonly keyType: string;
  readonly key: Buffer;
}

/**
 * Parses known_hosts text. Blank lines, comments, `@cert-authority` lines and lines whose key does
 * not decode (or whose blob names another type than the line) are skipped, as OpenSSH does.
 */
export function parseKnownHosts(text: string): KnownHostsEntry[] {
  const entries: KnownHostsEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === undefined || fields[0] === '' || fields[0].startsWith('#')) return;
    let revoked = false;
    if (fields[0].startsWith('@')) {
      if (fields[0] !== '@revoked') return;
      revoked = true;
      fields.shift();
    }
    const [hosts, keyType, base64] = fields;
    if (hosts === undefined || keyType === undefined || base64 === undefined) return;
    const key = decodeKey(keyType, base64);
    if (key !== undefined) entries.push({ hosts, revoked, keyType, key, line: i + 1 });
  });
  return entries;
}

/**
 * Parses one public key line: `type base64 [comment]`, or a whole known_hosts line (as printed by
 * `ssh-keyscan`) whose host field is ignored. Returns undefined when no key decodes.
 */
export function parsePublicKey(text: string): PublicKey | undefined {
  const fields = text.trim().split(/\s+/);
  for (let i = 0; i + 1 < fields.length; i++) {
    const keyType = fields[i] as string;
    const key = decodeKey(keyType, fields[i + 1] as string);
    if (key !== undefined) return { keyType, key };
  }
  return undefined;
}

/** The name OpenSSH looks up for a host and port: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  const name = host.toLowerCase();
  return port === 22 ? name : `[${name}]:${port}`;
}

/**
 * Whether an entry's host patterns match `name` (from {@link knownHostsName}): at least one
 * positive pattern matches and no negated one does.
 */
export function entryMatches(entry: KnownHostsEntry, name: string): boolean {
  let matched = false;
  for (const pattern of entry.hosts.split(',')) {
    if (pattern.startsWith('|1|')) {
      if (hashedMatches(pattern, name)) matched = true;
    } else if (pattern.startsWith('!')) {
      if (globMatches(pattern.slice(1), name)) return false;
    } else if (globMatches(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

/** The OpenSSH fingerprint of a key blob: `SHA256:` and the unpadded base64 digest. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside a key blob (its first SSH string), or undefined if malformed. */
export function blobKeyType(key: Buffer): string | undefined {
  if (key.length < 4) return undefined;
  const length = key.readUInt32BE(0);
  return length > 0 && 4 + length <= key.length ? key.subarray(4, 4 + length).toString('latin1') : undefined;
}

/** A known_hosts line pinning `key` for `host`/`port` (plain, unhashed name). */
export function formatKnownHostsLine(host: string, port: number, key: PublicKey): string {
  return `${knownHostsName(host, port)} ${key.keyType} ${key.key.toString('base64')}`;
}

function decodeKey(keyType: string, base64: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return undefined;
  const key = Buffer.from(base64, 'base64');
  return blobKeyType(key) === keyType ? key : undefined;
}

function hashedMatches(pattern: string, name: string): boolean {
  const [, , salt, hash] = pattern.split('|');
  if (salt === undefined || hash === undefined) return false;
  const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
  return digest === hash;
}

/** OpenSSH host pattern matching: `*` any run, `?` one character, case-insensitive. */
function globMatches(pattern: string, name: string): boolean {
  const source = pattern
    .toLowerCase()
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`).test(name);
}

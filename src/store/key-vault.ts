/**
 * Seals private keys the bot generates for requesters, so they never sit in Redis in plaintext.
 * AES-256-GCM with a per-process data key from `TUNNELGATE_SECRET` or `<dataDir>/secret.key`.
 * Losing the data key only loses undelivered keys (the requester asks again); leaking it together
 * with a Redis dump exposes them, so keep the file out of backups that include Redis.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TunnelgateError } from '../core/errors.js';
import { hmacSigner, type MacPurpose, type Signer } from '../domain/signer.js';

const VERSION = 'v1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Where {@link KeyVault.open} finds the data key. */
export interface KeyVaultSource {
  /** The data directory; `secret.key` is read from (or created in) it when the env has no key. */
  dataDir: string;
  /** Usually `process.env`; only `TUNNELGATE_SECRET` is read. */
  env: Readonly<Record<string, string | undefined>>;
}

/** Encrypts and decrypts short secrets with one 32-byte data key. */
export class KeyVault {
  readonly #key: Buffer;

  /**
   * @param keyFile where the key was read from, when it came from `<dataDir>/secret.key` rather
   *   than `TUNNELGATE_SECRET` (the runtime warns: a backup of the data dir holds it).
   * @throws TunnelgateError INTERNAL unless `key` is exactly 32 bytes.
   */
  constructor(
    key: Buffer,
    readonly keyFile?: string,
  ) {
    if (key.length !== KEY_BYTES) {
      throw new TunnelgateError('INTERNAL', `the key vault needs a ${KEY_BYTES}-byte data key`);
    }
    this.#key = Buffer.from(key);
  }

  /**
   * Loads the data key: `TUNNELGATE_SECRET` (64 hex characters or base64 of 32 bytes) wins;
   * otherwise `<dataDir>/secret.key` is read, or created with mode 600 on first use.
   * @throws TunnelgateError CONFIG_INVALID when the variable or the file holds no 32-byte key, or
   * the file cannot be read or created.
   */
  static async open(source: KeyVaultSource): Promise<KeyVault> {
    const fromEnv = source.env.TUNNELGATE_SECRET;
    if (fromEnv !== undefined && fromEnv.trim() !== '') {
      return new KeyVault(parseKey(fromEnv, 'TUNNELGATE_SECRET'));
    }
    return new KeyVault(await loadOrCreateKeyFile(source.dataDir), join(source.dataDir, 'secret.key'));
  }

  /**
   * The signer for approvals, jobs and the audit chain: one HMAC key per purpose, each derived
   * from the data key with HKDF, so every process holding the deployment secret agrees on them.
   */
  signer(): Signer {
    const derive = (purpose: MacPurpose) =>
      Buffer.from(hkdfSync('sha256', this.#key, Buffer.alloc(0), `tunnelgate ${purpose} mac`, 32));
    return hmacSigner({ decision: derive('decision'), job: derive('job'), audit: derive('audit') });
  }

  /** Encrypts `plaintext` to `v1.<iv>.<tag>.<ciphertext>` (base64 parts, fresh random IV). */
  seal(plaintext: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, iv.toString('base64'), tag.toString('base64'), ciphertext.toString('base64')].join('.');
  }

  /**
   * Decrypts a value made by {@link seal}.
   * @throws TunnelgateError INTERNAL when the value is malformed, was altered, or was sealed with
   * another data key.
   */
  unseal(sealed: string): string {
    const parts = sealed.split('.');
    const [version, ivText, tagText, dataText] = parts;
    if (
      parts.length !== 4 ||
      version !== VERSION ||
      ivText === undefined ||
      tagText === undefined ||
      dataText === undefined ||
      ![ivText, tagText, dataText].every((p) => p === '' || BASE64.test(p))
    ) {
      throw new TunnelgateError('INTERNAL', 'sealed key is malformed');
    }
    const iv = Buffer.from(ivText, 'base64');
    const tag = Buffer.from(tagText, 'base64');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
      throw new TunnelgateError('INTERNAL', 'sealed key is malformed');
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
      decipher.setAuthTag(tag);
      const plain = Buffer.concat([decipher.update(Buffer.from(dataText, 'base64')), decipher.final()]);
      return plain.toString('utf8');
    } catch (err) {
      throw new TunnelgateError(
        'INTERNAL',
        'sealed key failed authentication (altered, or sealed with another data key)',
        { cause: err },
      );
    }
  }
}

function parseKey(text: string, origin: string): Buffer {
  const trimmed = text.trim();
  if (HEX_KEY.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (BASE64.test(trimmed)) {
    const key = Buffer.from(trimmed, 'base64');
    if (key.length === KEY_BYTES) return key;
  }
  throw new TunnelgateError('CONFIG_INVALID', `${origin} must hold 32 bytes as 64 hex characters or base64`, {
    hint: 'generate one with `openssl rand -hex 32`',
  });
}

/** Reads `<dataDir>/secret.key`, creating it (mode 600) when missing; safe against racing processes. */
async function loadOrCreateKeyFile(dataDir: string): Promise<Buffer> {
  const path = join(dataDir, 'secret.key');
  const existing = await readKeyFile(path);
  if (existing !== null) return existing;
  // Write a private temp file, then link it into place: the key file appears complete or not at
  // all, and a process that loses the race reads the winner's key.
  const key = randomBytes(KEY_BYTES);
  const temp = join(dataDir, `.secret.key.${process.pid}.${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    await writeFile(temp, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    await link(temp, path);
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw unreadable(path, err);
    const winner = await readKeyFile(path);
    if (winner === null) throw unreadable(path, err);
    return winner;
  } finally {
    await rm(temp, { force: true });
  }
}

async function readKeyFile(path: string): Promise<Buffer | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw unreadable(path, err);
  }
  return parseKey(text, path);
}

function unreadable(path: string, cause: unknown): TunnelgateError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new TunnelgateError('CONFIG_INVALID', `cannot read or create the data key ${path}: ${reason}`, {
    cause,
  });
}

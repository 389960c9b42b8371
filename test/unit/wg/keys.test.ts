import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  generateKeyPair,
  PrivateKey,
  PublicKey,
  parseKey,
  publicKeyFromPrivate,
} from '../../../src/wg/keys.js';
import { thrownError } from '../../support/errors.js';

/** Runs the real wireguard-tools binary. */
function wg(args: string[], input?: string): string {
  return execFileSync('/usr/bin/wg', args, {
    input,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
  }).trim();
}

describe('publicKeyFromPrivate', () => {
  it('agrees with `wg pubkey` for keys from `wg genkey`', () => {
    for (let i = 0; i < 8; i += 1) {
      const privateKey = wg(['genkey']);
      expect(publicKeyFromPrivate(privateKey)).toBe(wg(['pubkey'], privateKey));
    }
  });

  it('throws KEY_INVALID for a malformed private key', () => {
    expect(thrownError(() => publicKeyFromPrivate('not-a-key')).code).toBe('KEY_INVALID');
  });
});

describe('generateKeyPair', () => {
  it('produces pairs that `wg pubkey` confirms', () => {
    for (let i = 0; i < 8; i += 1) {
      const pair = generateKeyPair();
      expect(wg(['pubkey'], pair.privateKey)).toBe(pair.publicKey);
      expect(publicKeyFromPrivate(pair.privateKey)).toBe(pair.publicKey);
    }
  });

  it('clamps the private key like `wg genkey`', () => {
    const raw = Buffer.from(generateKeyPair().privateKey, 'base64');
    expect((raw[0] ?? 1) & 7).toBe(0);
    expect((raw[31] ?? 0) & 0xc0).toBe(0x40);
  });

  it('never repeats a key', () => {
    const keys = new Set(Array.from({ length: 50 }, () => generateKeyPair().privateKey));
    expect(keys.size).toBe(50);
  });
});

describe('PublicKey', () => {
  it('accepts a key from `wg genkey | wg pubkey`', () => {
    const key = wg(['pubkey'], wg(['genkey']));
    expect(PublicKey.parse(key)).toBe(key);
  });

  it('rejects "abc" with a message saying what a key looks like', () => {
    const result = PublicKey.safeParse('abc');
    expect(result.error?.issues[0]?.message).toBe(
      '"abc" is not a WireGuard key: expected 44 characters of base64 encoding 32 bytes',
    );
  });

  it('rejects a 31-byte key', () => {
    const short = Buffer.alloc(31, 7).toString('base64');
    expect(short).toHaveLength(44);
    expect(PublicKey.safeParse(short).success).toBe(false);
  });

  it('rejects a 33-byte key', () => {
    expect(PublicKey.safeParse(Buffer.alloc(33, 7).toString('base64')).success).toBe(false);
  });

  it('rejects url-safe base64', () => {
    const key = Buffer.alloc(32, 0xfb).toString('base64');
    expect(key).toContain('+');
    expect(PublicKey.safeParse(key).success).toBe(true);
    expect(PublicKey.safeParse(Buffer.alloc(32, 0xfb).toString('base64url')).success).toBe(false);
  });

  it('rejects a non-canonical last character, as `wg` does', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const key = wg(['genkey']);
    const sloppy = `${key.slice(0, 42)}${alphabet[alphabet.indexOf(key.charAt(42)) + 1]}=`;
    expect(Buffer.from(sloppy, 'base64')).toEqual(Buffer.from(key, 'base64'));
    expect(PublicKey.safeParse(sloppy).success).toBe(false);
    expect(() => wg(['pubkey'], sloppy)).toThrow();
  });

  it('truncates a long rejected value in the message', () => {
    const message = PublicKey.safeParse('x'.repeat(500)).error?.issues[0]?.message ?? '';
    expect(message.length).toBeLessThan(140);
  });
});

describe('PrivateKey', () => {
  it('never repeats the rejected value in its message', () => {
    const nearMiss = wg(['genkey']).slice(0, 43);
    const message = PrivateKey.safeParse(nearMiss).error?.issues[0]?.message ?? '';
    expect(message).toBe('not a WireGuard private key: expected 44 characters of base64 encoding 32 bytes');
  });
});

describe('parseKey', () => {
  it('trims a pasted trailing newline', () => {
    const key = wg(['pubkey'], wg(['genkey']));
    expect(parseKey('public', ` ${key}\n`)).toBe(key);
  });

  it('throws KEY_INVALID with the schema message', () => {
    const err = thrownError(() => parseKey('public', 'abc'));
    expect(err.code).toBe('KEY_INVALID');
    expect(err.message).toBe(
      '"abc" is not a WireGuard key: expected 44 characters of base64 encoding 32 bytes',
    );
  });

  it('accepts a private key and keeps it out of the error message', () => {
    const key = wg(['genkey']);
    expect(parseKey('private', key)).toBe(key);
    expect(thrownError(() => parseKey('private', `${key.slice(0, 40)}`)).message).not.toContain(
      key.slice(0, 40),
    );
  });
});

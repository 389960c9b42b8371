import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TunnelgateError } from '../../../src/core/errors.js';
import { KeyVault } from '../../../src/store/key-vault.js';

// A WireGuard-shaped private key (fixed test value, not a real secret).
const PRIVATE_KEY = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TunnelgateError);
    expect((err as TunnelgateError).code).toBe(code);
    return;
  }
  expect.fail(`expected a TunnelgateError ${code}`);
}

describe('KeyVault', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tg-key-vault-'));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('round-trips a private key, with a fresh IV each time', () => {
    const vault = new KeyVault(randomBytes(32));
    const a = vault.seal(PRIVATE_KEY);
    const b = vault.seal(PRIVATE_KEY);
    expect(a).toMatch(/^v1\.[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+$/);
    expect(a).not.toBe(b);
    expect(vault.unseal(a)).toBe(PRIVATE_KEY);
    expect(vault.unseal(b)).toBe(PRIVATE_KEY);
    expect(vault.unseal(vault.seal(''))).toBe('');
  });

  it('never contains the plaintext or its base64', () => {
    const vault = new KeyVault(randomBytes(32));
    const text = `[Interface]\nPrivateKey = ${PRIVATE_KEY}\n`;
    const sealed = vault.seal(text);
    expect(sealed).not.toContain(PRIVATE_KEY);
    expect(sealed).not.toContain(PRIVATE_KEY.slice(0, 16));
    expect(sealed).not.toContain('PrivateKey');
    const b64 = Buffer.from(text).toString('base64');
    expect(sealed).not.toContain(b64.slice(0, 16));
    expect(sealed).not.toContain(Buffer.from(PRIVATE_KEY).toString('base64').slice(0, 16));
  });

  it('detects tampering with the ciphertext, tag or IV', () => {
    const vault = new KeyVault(randomBytes(32));
    const sealed = vault.seal(PRIVATE_KEY);
    const [version, iv, tag, data] = sealed.split('.') as [string, string, string, string];
    const flip = (b64: string): string => {
      const bytes = Buffer.from(b64, 'base64');
      bytes[0] = (bytes[0] ?? 0) ^ 0x01;
      return bytes.toString('base64');
    };
    expectCode(() => vault.unseal([version, iv, tag, flip(data)].join('.')), 'INTERNAL');
    expectCode(() => vault.unseal([version, iv, flip(tag), data].join('.')), 'INTERNAL');
    expectCode(() => vault.unseal([version, flip(iv), tag, data].join('.')), 'INTERNAL');
    expectCode(() => vault.unseal([version, iv, tag].join('.')), 'INTERNAL');
    expectCode(() => vault.unseal(['v2', iv, tag, data].join('.')), 'INTERNAL');
    expectCode(() => vault.unseal('not sealed'), 'INTERNAL');
    expectCode(() => new KeyVault(randomBytes(32)).unseal(sealed), 'INTERNAL');
  });

  it('takes the data key from TUNNELGATE_SECRET as hex or base64', async () => {
    const key = randomBytes(32);
    const fromHex = await KeyVault.open({ dataDir, env: { TUNNELGATE_SECRET: key.toString('hex') } });
    const fromB64 = await KeyVault.open({ dataDir, env: { TUNNELGATE_SECRET: key.toString('base64') } });
    expect(fromB64.unseal(fromHex.seal(PRIVATE_KEY))).toBe(PRIVATE_KEY);
    await expect(stat(join(dataDir, 'secret.key'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('rejects a TUNNELGATE_SECRET that is not 32 bytes', async () => {
    for (const secret of ['abc', randomBytes(16).toString('hex'), randomBytes(31).toString('base64')]) {
      await expect(KeyVault.open({ dataDir, env: { TUNNELGATE_SECRET: secret } })).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
      });
    }
  });

  it('creates <dataDir>/secret.key with mode 600 and reuses it', async () => {
    const nested = join(dataDir, 'var');
    const first = await KeyVault.open({ dataDir: nested, env: {} });
    const file = join(nested, 'secret.key');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const content = await readFile(file, 'utf8');
    expect(content.trim()).toMatch(/^[0-9a-f]{64}$/);

    const second = await KeyVault.open({ dataDir: nested, env: {} });
    expect(second.unseal(first.seal(PRIVATE_KEY))).toBe(PRIVATE_KEY);
    expect(await readFile(file, 'utf8')).toBe(content);
  });

  it('agrees on one key when several processes create the file at once', async () => {
    const vaults = await Promise.all(Array.from({ length: 8 }, () => KeyVault.open({ dataDir, env: {} })));
    const sealed = vaults[0]?.seal(PRIVATE_KEY) ?? '';
    for (const vault of vaults) expect(vault.unseal(sealed)).toBe(PRIVATE_KEY);
  });

  it('refuses a corrupt key file instead of replacing it', async () => {
    await writeFile(join(dataDir, 'secret.key'), 'garbage\n', { mode: 0o600 });
    await expect(KeyVault.open({ dataDir, env: {} })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});

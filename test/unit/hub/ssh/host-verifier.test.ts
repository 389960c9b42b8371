import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HubConfig } from '../../../../src/config/schema.js';
import { TunnelgateError } from '../../../../src/core/errors.js';
import { createLogger } from '../../../../src/core/logger.js';
import { HostKeyVerifier, hostKeyAlgorithms } from '../../../../src/hub/ssh/host-verifier.js';
import { fingerprint, type PublicKey, parsePublicKey } from '../../../../src/hub/ssh/known-hosts.js';

const dir = mkdtempSync(join(tmpdir(), 'tg-host-verifier-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const logger = createLogger({ level: 'silent' });

function keygen(name: string, type = 'ed25519'): PublicKey & { line: string } {
  const path = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', '', '-f', path]);
  const line = readFileSync(`${path}.pub`, 'utf8').trim();
  const key = parsePublicKey(line);
  if (key === undefined) throw new Error(`cannot parse ${line}`);
  return { ...key, line };
}

const good = keygen('good');
const evil = keygen('evil');

function hub(extra: Record<string, unknown>): HubConfig {
  return HubConfig.parse({
    name: 'hub1',
    host: '198.51.100.2',
    user: 'root',
    privateKeyPath: '/nonexistent',
    endpoint: 'vpn.example.com:51820',
    subnet: '10.6.0.0/24',
    ...extra,
  });
}

function knownHosts(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

async function refusal(verifier: HostKeyVerifier, key: Buffer): Promise<TunnelgateError> {
  const err = await verifier.check(key).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TunnelgateError);
  return err as TunnelgateError;
}

describe('HostKeyVerifier', () => {
  it('accepts the pinned key from a known_hosts file', async () => {
    const file = knownHosts('kh-good', `198.51.100.2 ${good.line}\n`);
    await expect(
      new HostKeyVerifier(hub({ knownHosts: file }), logger).check(good.key),
    ).resolves.toBeUndefined();
  });

  it('accepts the pinned hostKey line', async () => {
    await expect(
      new HostKeyVerifier(hub({ hostKey: good.line }), logger).check(good.key),
    ).resolves.toBeUndefined();
  });

  it('refuses another key with HOST_KEY_MISMATCH naming the hub and both fingerprints', async () => {
    const file = knownHosts('kh-mismatch', `198.51.100.2 ${good.line}\n`);
    const err = await refusal(new HostKeyVerifier(hub({ knownHosts: file }), logger), evil.key);
    expect(err.code).toBe('HOST_KEY_MISMATCH');
    expect(err.hub).toBe('hub1');
    expect(err.message).toBe(
      `host key of hub "hub1" (198.51.100.2:22) changed: expected ${fingerprint(good.key)}, ` +
        `offered ${fingerprint(evil.key)}; if the change is legitimate, update knownHosts`,
    );
  });

  it('refuses an unknown host with HOST_KEY_UNKNOWN (empty or missing file, other port)', async () => {
    for (const file of [
      knownHosts('kh-empty', ''),
      join(dir, 'missing'),
      knownHosts('kh-port', `[198.51.100.2]:2222 ${good.line}\n`),
    ]) {
      const err = await refusal(new HostKeyVerifier(hub({ knownHosts: file }), logger), good.key);
      expect(err.code).toBe('HOST_KEY_UNKNOWN');
      expect(err.message).toContain('"hub1"');
      expect(err.message).toContain(fingerprint(good.key));
    }
  });

  it('refuses a @revoked key even when it is also pinned', async () => {
    const file = knownHosts('kh-revoked', `198.51.100.2 ${good.line}\n@revoked * ${good.line}\n`);
    const err = await refusal(new HostKeyVerifier(hub({ knownHosts: file }), logger), good.key);
    expect(err.code).toBe('HOST_KEY_MISMATCH');
    expect(err.message).toContain('@revoked');
  });

  it('trusts on first use: appends the key, then pins it', async () => {
    const file = knownHosts('kh-tofu', `# existing comment without newline`);
    const verifier = new HostKeyVerifier(
      hub({ knownHosts: file, trustOnFirstUse: true, port: 2222 }),
      logger,
    );
    await verifier.check(good.key);
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines).toEqual(['# existing comment without newline', `[198.51.100.2]:2222 ${good.line}`, '']);
    await verifier.check(good.key);
    expect(readFileSync(file, 'utf8').split('\n')).toHaveLength(3);
    expect((await refusal(verifier, evil.key)).code).toBe('HOST_KEY_MISMATCH');
    const found = execFileSync('ssh-keygen', ['-F', '[198.51.100.2]:2222', '-f', file], { encoding: 'utf8' });
    expect(found).toContain(good.line);
  });

  it('refuses trust on first use without a file when there is no shared store to pin in (no memory-only pin)', async () => {
    const verifier = new HostKeyVerifier(hub({ trustOnFirstUse: true }), logger);
    const err = await refusal(verifier, good.key);
    expect(err.code).toBe('HOST_KEY_UNKNOWN');
    expect(err.hint).toContain('knownHosts or hostKey');
  });

  it('reports a bad hostKey line as CONFIG_INVALID', async () => {
    const err = await refusal(new HostKeyVerifier(hub({ hostKey: 'ssh-ed25519 nope' }), logger), good.key);
    expect(err.code).toBe('CONFIG_INVALID');
  });

  it('attempt() answers ssh2 asynchronously and keeps the refusal', async () => {
    const file = knownHosts('kh-attempt', `198.51.100.2 ${good.line}\n`);
    const verifier = new HostKeyVerifier(hub({ knownHosts: file }), logger);
    const verdict = (key: Buffer) => {
      const attempt = verifier.attempt();
      return new Promise<[boolean, TunnelgateError | undefined]>((resolve) =>
        attempt.hostVerifier(key, (ok) => resolve([ok, attempt.rejection()])),
      );
    };
    expect(await verdict(good.key)).toEqual([true, undefined]);
    const [ok, rejection] = await verdict(evil.key);
    expect(ok).toBe(false);
    expect(rejection?.code).toBe('HOST_KEY_MISMATCH');
  });
});

describe('hostKeyAlgorithms', () => {
  it('offers the pinned key types first', () => {
    expect(hostKeyAlgorithms([good])[0]).toBe('ssh-ed25519');
    const rsa = keygen('rsa', 'rsa');
    expect(hostKeyAlgorithms([rsa]).slice(0, 4)).toEqual([
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
      'ssh-ed25519',
    ]);
    const ecdsa = keygen('ecdsa', 'ecdsa');
    expect(hostKeyAlgorithms([ecdsa, good]).slice(0, 2)).toEqual(['ssh-ed25519', 'ecdsa-sha2-nistp256']);
    expect(hostKeyAlgorithms([])).toHaveLength(7);
  });
});

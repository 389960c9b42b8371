/**
 * Host key verification for one hub. ssh2 accepts any host key unless given a `hostVerifier`, so
 * every connection goes through {@link HostKeyVerifier.attempt}. The pins (a known_hosts file
 * and/or the `hostKey` line) are re-read on every connect, so an operator's fix applies at once.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ServerHostKeyAlgorithm } from 'ssh2';
import type { HubConfig } from '../../config/schema.js';
import { TunnelgateError, toTunnelgateError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { FirstUseStore } from '../../store/host-keys.js';
import {
  blobKeyType,
  entryMatches,
  fingerprint,
  formatKnownHostsLine,
  knownHostsName,
  type PublicKey,
  parseKnownHosts,
  parsePublicKey,
} from './known-hosts.js';

/** The keys a hub may present, and the ones it must not. */
export interface HostKeyPins {
  readonly pinned: readonly PublicKey[];
  readonly revoked: readonly Buffer[];
}

/** An ssh2 `hostVerifier` for one connection attempt, plus the reason behind a refusal. */
export interface HostKeyAttempt {
  /** Pass as ssh2's `hostVerifier`; answers asynchronously. */
  readonly hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => void;
  /** The HOST_KEY_* error behind a refusal: ssh2 itself only reports "Host denied". */
  rejection(): TunnelgateError | undefined;
}

/** ssh2's host key algorithms, strongest first (ed25519 needs Node's EdDSA, present on Node 20). */
const HOST_KEY_ALGORITHMS: readonly ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/**
 * Host key algorithms to offer, the pinned key types first (as OpenSSH does): a hub with several
 * host keys then presents the one we know rather than a different, unpinned one.
 */
export function hostKeyAlgorithms(pinned: readonly PublicKey[]): ServerHostKeyAlgorithm[] {
  const wanted = new Set(pinned.map((p) => p.keyType));
  const isWanted = (algo: ServerHostKeyAlgorithm) =>
    wanted.has(algo) || (wanted.has('ssh-rsa') && algo.startsWith('rsa-sha2-'));
  return [...HOST_KEY_ALGORITHMS.filter(isWanted), ...HOST_KEY_ALGORITHMS.filter((a) => !isWanted(a))];
}

/**
 * Checks the host keys of one hub. Unknown host -> HOST_KEY_UNKNOWN, another key than the pinned
 * ones (or a `@revoked` one) -> HOST_KEY_MISMATCH. With `trustOnFirstUse` an unknown host's key is
 * accepted and appended to `knownHosts`, or, without that file, pinned in the shared
 * {@link FirstUseStore} (Redis), so every worker and every restart holds the hub to that key.
 * Without a store to pin in, a hub with neither file nor `hostKey` is refused as unknown.
 */
export class HostKeyVerifier {
  private readonly hub: HubConfig;
  private readonly logger: Logger;
  private readonly name: string;
  private readonly firstUse: FirstUseStore | undefined;

  constructor(hub: HubConfig, logger: Logger, firstUse?: FirstUseStore) {
    this.hub = hub;
    this.logger = logger;
    this.name = knownHostsName(hub.host, hub.port);
    this.firstUse = firstUse;
  }

  /** True when the pin lives in the first-use store: trust on first use, no file, no `hostKey`. */
  private get pinsInStore(): boolean {
    return this.hub.trustOnFirstUse && this.hub.knownHosts === undefined && this.hub.hostKey === undefined;
  }

  /** Reads the pins for this hub. Throws CONFIG_INVALID for an unparsable `hostKey`. */
  async pins(): Promise<HostKeyPins> {
    const pinned: PublicKey[] = [];
    const revoked: Buffer[] = [];
    if (this.hub.hostKey !== undefined) {
      const key = parsePublicKey(this.hub.hostKey);
      if (key === undefined) {
        throw new TunnelgateError(
          'CONFIG_INVALID',
          `hostKey of hub "${this.hub.name}" is not a public key line`,
          {
            hub: this.hub.name,
            hint: 'expected a line such as `ssh-ed25519 AAAA…`, e.g. from ssh-keyscan',
          },
        );
      }
      pinned.push(key);
    }
    for (const entry of parseKnownHosts(await this.readKnownHosts())) {
      if (!entryMatches(entry, this.name)) continue;
      if (entry.revoked) revoked.push(entry.key);
      else pinned.push(entry);
    }
    if (this.pinsInStore && this.firstUse !== undefined) {
      const pin = await this.firstUse.get(this.hub.name, this.name);
      if (pin !== undefined) pinned.push({ keyType: pin.keyType, key: Buffer.from(pin.key, 'base64') });
    }
    return { pinned, revoked };
  }

  /**
   * Accepts or refuses an offered key blob. Resolves when accepted (recording it first under
   * trust on first use); throws HOST_KEY_UNKNOWN or HOST_KEY_MISMATCH otherwise.
   */
  async check(offered: Buffer): Promise<void> {
    const { pinned, revoked } = await this.pins();
    const where = `hub "${this.hub.name}" (${this.hub.host}:${this.hub.port})`;
    const seen = fingerprint(offered);
    if (revoked.some((k) => k.equals(offered))) {
      throw new TunnelgateError('HOST_KEY_MISMATCH', `host key ${seen} of ${where} is marked @revoked`, {
        hub: this.hub.name,
        hint: `remove the @revoked line only if the key is trusted again (${this.hub.knownHosts})`,
      });
    }
    if (pinned.some((k) => k.key.equals(offered))) return;
    if (pinned.length > 0) {
      const expected = [...new Set(pinned.map((k) => fingerprint(k.key)))].join(' or ');
      const fix = this.pinsInStore
        ? 'pin the new key with hostKey (the key trusted on first use is kept in Redis)'
        : `update ${this.hub.knownHosts === undefined ? 'hostKey' : 'knownHosts'}`;
      throw new TunnelgateError(
        'HOST_KEY_MISMATCH',
        `host key of ${where} changed: expected ${expected}, offered ${seen}; ` +
          `if the change is legitimate, ${fix}`,
        { hub: this.hub.name },
      );
    }
    if (this.pinsInStore && this.firstUse === undefined) {
      throw new TunnelgateError('HOST_KEY_UNKNOWN', `host key of ${where} is not known (offered ${seen})`, {
        hub: this.hub.name,
        hint: 'this command has no shared store to pin a first-use key in: set knownHosts or hostKey',
      });
    }
    if (!this.hub.trustOnFirstUse) {
      throw new TunnelgateError('HOST_KEY_UNKNOWN', `host key of ${where} is not known (offered ${seen})`, {
        hub: this.hub.name,
        hint:
          'compare the fingerprint with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the hub, ' +
          'then add it to knownHosts or hostKey (or enable trustOnFirstUse)',
      });
    }
    await this.trust({ keyType: blobKeyType(offered) ?? 'unknown', key: offered });
  }

  /** A fresh ssh2 callback for one connection attempt; see {@link HostKeyAttempt}. */
  attempt(): HostKeyAttempt {
    let rejection: TunnelgateError | undefined;
    return {
      hostVerifier: (key, verify) => {
        this.check(key).then(
          () => verify(true),
          (err: unknown) => {
            rejection = toTunnelgateError(err);
            verify(false);
          },
        );
      },
      rejection: () => rejection,
    };
  }

  private async trust(key: PublicKey): Promise<void> {
    const file = this.hub.knownHosts;
    if (file === undefined) {
      const offered = fingerprint(key.key);
      const pin = await this.firstUse?.pinFirst(this.hub.name, this.name, {
        keyType: key.keyType,
        key: key.key.toString('base64'),
        fingerprint: offered,
      });
      // Another worker pinned a different key first: this one is a mismatch, not a first use.
      if (pin !== undefined && pin.fingerprint !== offered) {
        throw new TunnelgateError(
          'HOST_KEY_MISMATCH',
          `host key of hub "${this.hub.name}" (${this.hub.host}:${this.hub.port}) changed: expected ${pin.fingerprint}, offered ${offered}`,
          { hub: this.hub.name },
        );
      }
    } else {
      const existing = await this.readKnownHosts();
      const separator = existing === '' || existing.endsWith('\n') ? '' : '\n';
      try {
        await mkdir(dirname(file), { recursive: true });
        await appendFile(file, `${separator}${formatKnownHostsLine(this.hub.host, this.hub.port, key)}\n`);
      } catch (err) {
        throw new TunnelgateError('CONFIG_INVALID', `cannot record the host key of hub "${this.hub.name}"`, {
          hub: this.hub.name,
          hint: `make ${file} writable, or pin the key yourself`,
          cause: err,
        });
      }
    }
    this.logger.warn(
      {
        hub: this.hub.name,
        fingerprint: fingerprint(key.key),
        knownHosts: file ?? null,
        redis: file === undefined,
      },
      'trusted the host key of hub on first use',
    );
  }

  /** The knownHosts text; a missing file counts as empty (the hub is then unknown). */
  private async readKnownHosts(): Promise<string> {
    if (this.hub.knownHosts === undefined) return '';
    try {
      return await readFile(this.hub.knownHosts, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw new TunnelgateError('CONFIG_INVALID', `cannot read knownHosts of hub "${this.hub.name}"`, {
        hub: this.hub.name,
        cause: err,
      });
    }
  }
}

/**
 * A hub's own sshd: a config that only admits the operator's key as root, and the argv to check
 * and run it. Pure functions, so the demo and other tooling can start the same sshd.
 */
import { chmod, readFile } from 'node:fs/promises';
import { TunnelgateError } from '../core/errors.js';
import { runChecked } from './host.js';

/** Where the config points; every path is absolute and private to one host. */
export interface SshdOptions {
  /** The only address sshd listens on (the hub's lab address). */
  listenAddress: string;
  /** Default 22. */
  port?: number;
  hostKeyPath: string;
  /** A file holding the operator's public key. */
  authorizedKeysPath: string;
  pidFilePath: string;
  /** Environment every session gets (sshd `SetEnv`); values must not contain whitespace or quotes. */
  env?: Record<string, string>;
}

/** The absolute path of sshd (it refuses to re-exec itself through a relative path). */
export const SSHD_PATH = '/usr/sbin/sshd';

/**
 * Renders an sshd_config: root by key only (no passwords, no keyboard-interactive, no PAM),
 * MaxSessions 10 (the bot keeps its channel count below it), sftp for file transfers.
 * StrictModes is off because the key files live under /tmp, which is world-writable.
 * Throws INPUT_INVALID when an `env` entry could break the config line.
 */
export function renderSshdConfig(options: SshdOptions): string {
  const env = Object.entries(options.env ?? {}).map(([key, value]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) || !/^[^\s"'\\]*$/.test(value)) {
      throw new TunnelgateError('INPUT_INVALID', `sshd: unsafe SetEnv entry ${key}`);
    }
    return `${key}=${value}`;
  });
  return [
    `ListenAddress ${options.listenAddress}`,
    `Port ${options.port ?? 22}`,
    `HostKey ${options.hostKeyPath}`,
    `PidFile ${options.pidFilePath}`,
    `AuthorizedKeysFile ${options.authorizedKeysPath}`,
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'MaxSessions 10',
    'X11Forwarding no',
    'PrintMotd no',
    'UseDNS no',
    ...(env.length > 0 ? [`SetEnv ${env.join(' ')}`] : []),
    'Subsystem sftp internal-sftp',
    '',
  ].join('\n');
}

/** argv that checks a config (and its host key) without starting anything: `sshd -t`. */
export function sshdTestArgv(configPath: string): string[] {
  return [SSHD_PATH, '-t', '-f', configPath];
}

/** argv that runs sshd in the foreground, logging to stderr. */
export function sshdArgv(configPath: string): string[] {
  return [SSHD_PATH, '-D', '-e', '-f', configPath];
}

/**
 * Creates an ed25519 key pair at `path` (no passphrase, private key mode 600) and returns the
 * public key line without its comment (`ssh-ed25519 AAAA…`). Throws LAB_UNAVAILABLE on failure.
 */
export async function generateSshKey(path: string, comment: string): Promise<string> {
  await runChecked(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
  await chmod(path, 0o600);
  return (await readFile(`${path}.pub`, 'utf8')).split(' ').slice(0, 2).join(' ');
}

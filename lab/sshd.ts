/**
 * A hub's own sshd: a config that only admits the operator's key as root, and the argv to check
 * and run it. Pure functions, so the demo and other tooling can start the same sshd.
 */
import { TunnelgateError } from '../core/errors.js';

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

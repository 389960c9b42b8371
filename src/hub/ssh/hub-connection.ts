/**
 * One SSH connection per hub, shared by every command for that hub. Commands run as session
 * channels of the one connection, at most `ssh.maxChannels` at a time (sshd allows 10 per
 * connection); the rest wait in FIFO order. The connection opens on demand, closes after
 * `ssh.idleTimeoutMs` unused and reopens after a drop.
 */
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { Client, type ClientChannel, type KexAlgorithm } from 'ssh2';
import type { HubConfig } from '../../config/schema.js';
import { TunnelgateError, toTunnelgateError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { FirstUseStore } from '../../store/host-keys.js';
import { type HostKeyAttempt, HostKeyVerifier, hostKeyAlgorithms } from './host-verifier.js';
import { commandLine } from './quote.js';

/** Options of one {@link HubConnection.exec}. */
export interface ExecOptions {
  /** Written to the command's stdin. Stdin is closed either way, so nothing waits for input. */
  input?: string;
  /** Abandon the command after this long (default `ssh.commandTimeoutMs`). */
  timeoutMs?: number;
  /** Run as `sudo -n <argv>` (default `hub.sudo`); `runScript` passes false and prefixes each step. */
  sudo?: boolean;
}

/** What a command produced. A non-zero `exitCode` is a result, not an error; 128+n for signal n. */
export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Why a connection went away: unused, `close()`, retired after a timeout, or dropped. */
export type DisconnectReason = 'idle' | 'closed' | 'retired' | 'lost';

/** Connection state callbacks, e.g. for metrics. They must not throw. */
export interface ConnectionHooks {
  onConnected?: (hub: string) => void;
  onDisconnected?: (hub: string, reason: DisconnectReason) => void;
}

export interface HubConnectionOptions {
  logger: Logger;
  hooks?: ConnectionHooks;
  /** Where keys trusted on first use are pinned for hubs without `knownHosts` (shared, Redis). */
  firstUse?: FirstUseStore;
}

/** Fast key exchange first: ssh2 runs in pure JS here, where the classic DH groups are slow. */
const KEX: KexAlgorithm[] = [
  'curve25519-sha256',
  'curve25519-sha256@libssh.org',
  'ecdh-sha2-nistp256',
  'ecdh-sha2-nistp384',
  'diffie-hellman-group14-sha256',
];

/** Socket error codes in words. */
const SOCKET_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
};

/** An SSH connection; `channels` counts running commands, `retired` means no new ones. */
interface Link {
  readonly client: Client;
  channels: number;
  retired: boolean;
  endReason: DisconnectReason;
}

/** How often a refused channel open is retried (50 ms, 100 ms, …) before the command fails. */
const CHANNEL_OPEN_RETRIES = 5;

/**
 * The SSH transport of one hub. Key authentication only (`privateKeyPath`; no password, keyboard
 * or agent), host key checked by {@link HostKeyVerifier}. A command that times out keeps its sshd
 * session until the remote process ends (OpenSSH cannot signal root sessions), so its connection
 * is retired: new commands get a fresh one and the old one closes once its other commands finish.
 */
export class HubConnection {
  readonly hub: HubConfig;
  private readonly logger: Logger;
  private readonly hooks: ConnectionHooks;
  private readonly verifier: HostKeyVerifier;
  private readonly links = new Set<Link>();
  private readonly waiting: Array<{ resolve: () => void; reject: (err: TunnelgateError) => void }> = [];
  private current: Link | undefined;
  private connecting: Promise<Link> | undefined;
  private active = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(hub: HubConfig, options: HubConnectionOptions) {
    this.hub = hub;
    this.logger = options.logger.child({ hub: hub.name });
    this.hooks = options.hooks ?? {};
    this.verifier = new HostKeyVerifier(hub, this.logger, options.firstUse);
  }

  /** Whether a connection is open for new commands. */
  get connected(): boolean {
    return this.current !== undefined;
  }

  /** Commands holding a channel slot right now (never more than `ssh.maxChannels`). */
  get activeChannels(): number {
    return this.active;
  }

  /** Commands waiting for a channel slot. */
  get queuedCommands(): number {
    return this.waiting.length;
  }

  /**
   * Runs argv on the hub (quoted with {@link commandLine}), connecting first if needed. Throws
   * INPUT_INVALID (bad argv), CONFIG_INVALID (unusable private key), HOST_KEY_UNKNOWN,
   * HOST_KEY_MISMATCH, SSH_AUTH_FAILED, SSH_UNREACHABLE, SSH_TIMEOUT or SSH_CHANNEL.
   */
  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const line = commandLine((options.sudo ?? this.hub.sudo) ? ['sudo', '-n', ...argv] : argv);
    await this.acquire();
    try {
      const link = await this.link().catch((err: unknown) => {
        // Fail fast: commands queued behind a failed connect share its error instead of each
        // waiting for another connect timeout.
        for (const waiter of this.waiting.splice(0)) waiter.reject(toTunnelgateError(err));
        throw err;
      });
      return await this.run(link, line, options);
    } finally {
      this.release();
    }
  }

  /**
   * Closes every connection of this hub now. Queued commands and running ones fail with
   * SSH_CHANNEL; a later {@link exec} connects again.
   */
  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    for (const waiter of this.waiting.splice(0))
      waiter.reject(this.channelError('the connection was closed'));
    await this.connecting?.catch(() => undefined);
    this.current = undefined;
    await Promise.all([...this.links].map((link) => this.end(link, 'closed')));
  }

  private async acquire(): Promise<void> {
    clearTimeout(this.idleTimer);
    if (this.active < this.hub.ssh.maxChannels) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** Hands the slot to the next queued command (FIFO), or frees it and maybe starts the idle timer. */
  private release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) {
      next.resolve();
      return;
    }
    this.active--;
    const link = this.current;
    if (this.active === 0 && link !== undefined) {
      this.idleTimer = setTimeout(() => {
        if (this.current === link) this.current = undefined;
        void this.end(link, 'idle');
      }, this.hub.ssh.idleTimeoutMs);
    }
  }

  private link(): Promise<Link> {
    if (this.current !== undefined) return Promise.resolve(this.current);
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private run(link: Link, line: string, options: ExecOptions): Promise<ExecResult> {
    const timeoutMs = options.timeoutMs ?? this.hub.ssh.commandTimeoutMs;
    return new Promise<ExecResult>((resolve, reject) => {
      let channel: ClientChannel | undefined;
      let settled = false;
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        link.channels--;
        if (link.retired && link.channels === 0) void this.end(link, 'retired');
        outcome();
      };
      link.channels++;
      const timer = setTimeout(() => {
        this.logger.warn({ timeoutMs }, 'hub command timed out; retiring its connection');
        link.retired = true;
        if (this.current === link) this.current = undefined;
        channel?.close();
        const message = `a command on hub "${this.hub.name}" timed out after ${timeoutMs} ms`;
        settle(() => reject(new TunnelgateError('SSH_TIMEOUT', message, { hub: this.hub.name })));
      }, timeoutMs);

      let attempt = 0;
      const open = () => {
        try {
          link.client.exec(line, onChannel);
        } catch (err) {
          settle(() => reject(this.channelError(`cannot open a channel: ${(err as Error).message}`)));
        }
      };
      const onChannel = (err: Error | undefined, opened: ClientChannel) => {
        if (err !== undefined) {
          // sshd may still count a session the client already saw close against MaxSessions
          // (seen under load); a refused open is retried briefly before the command fails.
          if (!settled && attempt < CHANNEL_OPEN_RETRIES && /open failure/i.test(err.message)) {
            attempt += 1;
            setTimeout(open, 50 * attempt);
            return;
          }
          return settle(() => reject(this.channelError(`cannot open a channel: ${err.message}`)));
        }
        if (settled) return opened.close();
        channel = opened;
        const stdout: Buffer[] = [];
        const stderr: Buffer[] = [];
        let exitCode: number | undefined;
        opened.on('data', (chunk: Buffer) => stdout.push(chunk));
        opened.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
        opened.on('exit', (code: number | null, signal?: string) => {
          exitCode = code ?? 128 + (constants.signals[`SIG${signal}` as keyof typeof constants.signals] ?? 0);
        });
        opened.on('close', () =>
          settle(() => {
            if (exitCode === undefined)
              return reject(this.channelError('the connection was lost mid-command'));
            resolve({
              stdout: Buffer.concat(stdout).toString('utf8'),
              stderr: Buffer.concat(stderr).toString('utf8'),
              exitCode,
            });
          }),
        );
        opened.end(options.input);
      };
      open();
    });
  }

  private async connect(): Promise<Link> {
    const { name, host, port, ssh, privateKeyPath } = this.hub;
    let privateKey: Buffer;
    try {
      privateKey = await readFile(privateKeyPath);
    } catch (err) {
      throw this.keyError(`cannot read ${privateKeyPath}: ${(err as Error).message}`, err);
    }
    const { pinned } = await this.verifier.pins();
    const attempt = this.verifier.attempt();
    const link: Link = { client: new Client(), channels: 0, retired: false, endReason: 'lost' };
    const { client } = link;
    await new Promise<void>((resolve, reject) => {
      let phase = 'TCP connect';
      let settled = false;
      const settle = (err?: TunnelgateError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err === undefined) return resolve();
        client.destroy();
        reject(err);
      };
      const timer = setTimeout(
        () => settle(this.unreachable(`timed out after ${ssh.connectTimeoutMs} ms (${phase})`)),
        ssh.connectTimeoutMs,
      );
      client.on('connect', () => {
        phase = 'SSH handshake';
      });
      client.on('handshake', () => {
        phase = 'authentication';
      });
      client.on('ready', () => {
        this.links.add(link);
        settle();
      });
      client.on('error', (err: Error & { level?: string; code?: string }) => {
        if (!settled) settle(this.connectError(err, attempt, phase));
        else if (this.links.has(link)) this.logger.warn({ err: err.message }, 'SSH connection error');
      });
      client.on('close', () => {
        settle(this.unreachable(`the connection closed during ${phase}`));
        if (this.links.delete(link)) this.disconnected(link);
      });
      try {
        client.connect({
          host,
          port,
          username: this.hub.user,
          privateKey,
          authHandler: ['publickey'],
          hostVerifier: attempt.hostVerifier,
          algorithms: { kex: KEX, serverHostKey: hostKeyAlgorithms(pinned) },
          readyTimeout: 0,
          keepaliveInterval: 15_000,
          keepaliveCountMax: 3,
        });
      } catch (err) {
        settle(this.keyError(`cannot use ${privateKeyPath}: ${(err as Error).message}`, err));
      }
    });
    this.current = link;
    this.logger.debug({ host, port }, 'connected to hub');
    this.hooks.onConnected?.(name);
    return link;
  }

  private end(link: Link, reason: DisconnectReason): Promise<void> {
    if (!this.links.has(link)) return Promise.resolve();
    link.endReason = reason;
    const closed = once(link.client, 'close').then(() => undefined);
    link.client.end();
    return closed;
  }

  private disconnected(link: Link): void {
    if (this.current === link) {
      this.current = undefined;
      clearTimeout(this.idleTimer);
    }
    this.logger.debug({ reason: link.endReason }, 'disconnected from hub');
    this.hooks.onDisconnected?.(this.hub.name, link.endReason);
  }

  private connectError(
    err: Error & { level?: string; code?: string },
    attempt: HostKeyAttempt,
    phase: string,
  ) {
    const rejection = attempt.rejection();
    if (rejection !== undefined) return rejection;
    if (err.level === 'client-authentication') {
      const { name, host, port, user, privateKeyPath } = this.hub;
      return new TunnelgateError(
        'SSH_AUTH_FAILED',
        `hub "${name}" (${host}:${port}) refused our key for user ${user}`,
        {
          hub: name,
          hint: `check that the public key of ${privateKeyPath} is in ~${user}/.ssh/authorized_keys on the hub`,
          cause: err,
        },
      );
    }
    const reason =
      (err.code !== undefined ? SOCKET_REASONS[err.code] : undefined) ?? `${phase} failed: ${err.message}`;
    return this.unreachable(reason, err);
  }

  private unreachable(reason: string, cause?: unknown): TunnelgateError {
    const { name, host, port } = this.hub;
    return new TunnelgateError('SSH_UNREACHABLE', `cannot reach hub "${name}" (${host}:${port}): ${reason}`, {
      hub: name,
      cause,
    });
  }

  private keyError(reason: string, cause: unknown): TunnelgateError {
    return new TunnelgateError(
      'CONFIG_INVALID',
      `private key of hub "${this.hub.name}" unusable: ${reason}`,
      {
        hub: this.hub.name,
        hint: 'privateKeyPath must name an unencrypted OpenSSH or PEM private key, e.g. from `ssh-keygen -t ed25519 -N ""`',
        cause,
      },
    );
  }

  private channelError(reason: string): TunnelgateError {
    return new TunnelgateError('SSH_CHANNEL', `hub "${this.hub.name}": ${reason}`, { hub: this.hub.name });
  }
}

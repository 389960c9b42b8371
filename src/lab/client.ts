/**
 * A lab client: a lab host that plays a user's device. Tests hand it a client config (from the
 * bot, or {@link renderLabClientConfig}) and check that it handshakes and reaches the hub.
 */
import { type ExecOptions, type ExecResult, type LabHost, WG_USERSPACE_ENV } from './host.js';
import type { LabHub } from './hub.js';

/** Where a client's WireGuard config is written (inside the client). */
const CLIENT_WG_CONFIG = '/etc/wireguard/wg0.conf';

/** Options for {@link LabClient.ping}. */
export interface PingOptions {
  /** Echo requests to send (default 1). */
  count?: number;
  /** Give up after this many seconds in all (default 5). */
  timeoutSec?: number;
}

/**
 * wg-quick hands `DNS =` to resolvconf, which this machine does not have (and which would touch
 * the host's resolver if it did), so `wg-quick up` would fail. The lab drops those lines.
 */
export function withoutDns(configText: string): string {
  return configText
    .split('\n')
    .filter((line) => !/^\s*DNS\s*=/i.test(line))
    .join('\n');
}

/** A running lab client. Created by the lab (see `startLab`). */
export class LabClient {
  constructor(readonly host: LabHost) {}

  /** `client1`, `client2`, … */
  get name(): string {
    return this.host.name;
  }

  get labAddress(): string {
    return this.host.address;
  }

  get netns(): string {
    return this.host.netns;
  }

  /** Runs `argv` inside the client. */
  exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    return this.host.exec(argv, options);
  }

  /**
   * Writes `configText` (minus its DNS lines, see {@link withoutDns}) as wg0.conf and runs
   * `wg-quick up wg0`. Throws LAB_UNAVAILABLE with wg-quick's stderr when that fails.
   */
  async up(configText: string): Promise<void> {
    await this.host.writeFile(CLIENT_WG_CONFIG, withoutDns(configText), 0o600);
    await this.host.execChecked(['wg-quick', 'up', 'wg0'], { env: WG_USERSPACE_ENV });
  }

  /** `wg-quick down wg0`. Throws LAB_UNAVAILABLE when wg0 is not up. */
  async down(): Promise<void> {
    await this.host.execChecked(['wg-quick', 'down', 'wg0'], { env: WG_USERSPACE_ENV });
  }

  /** True when `address` answers at least one echo request within the time limit. */
  async ping(address: string, options: PingOptions = {}): Promise<boolean> {
    const count = options.count ?? 1;
    const deadline = options.timeoutSec ?? 5;
    const result = await this.host.exec(
      ['ping', '-n', '-q', '-c', String(count), '-w', String(deadline), address],
      {
        timeoutMs: (deadline + 5) * 1_000,
      },
    );
    return result.code === 0;
  }

  /** Raw `wg show wg0 dump` (tab-separated; first line is the interface). Throws when wg0 is down. */
  async wgDump(): Promise<string> {
    return (await this.host.execChecked(['wg', 'show', 'wg0', 'dump'])).stdout;
  }
}

/** What {@link renderLabClientConfig} needs. */
export interface LabClientConfigOptions {
  privateKey: string;
  /** The client's tunnel address, e.g. `10.66.1.2` (a /32 is added). */
  address: string;
  hub: Pick<LabHub, 'wgPublicKey' | 'endpoint' | 'subnet'>;
  /** Default: the hub's subnet (split tunnel). */
  allowedIps?: string[];
}

/**
 * A minimal client config for lab tests that must not depend on the project's renderer.
 * PersistentKeepalive makes the client handshake as soon as it is up, before any traffic.
 */
export function renderLabClientConfig(options: LabClientConfigOptions): string {
  return [
    '[Interface]',
    `PrivateKey = ${options.privateKey}`,
    `Address = ${options.address}/32`,
    '',
    '[Peer]',
    `PublicKey = ${options.hub.wgPublicKey}`,
    `Endpoint = ${options.hub.endpoint}`,
    `AllowedIPs = ${(options.allowedIps ?? [options.hub.subnet]).join(', ')}`,
    'PersistentKeepalive = 25',
    '',
  ].join('\n');
}

/**
 * WireGuard's own state: the live dump (private key hidden on the hub, see workers/hub-steps.ts),
 * the config file (PrivateKey lines removed), and the hub's clock, so handshake ages are measured
 * against the hub's time, not the worker's.
 */

import type { HubConfig } from '../../config/schema.js';
import {
  type ConfPeer,
  type InterfaceSettings,
  interfaceSettings,
  listPeers,
  parseWgConf,
} from '../../wg/conf.js';
import { parseDump, type WgDump } from '../../wg/dump.js';
import { dumpStep, readConfStep } from '../programs/peers.js';
import type { Step } from '../ssh/remote-script.js';

/** A handshake older than this is stale (WireGuard re-handshakes every 2 minutes under traffic). */
export const STALE_HANDSHAKE_SEC = 180;

/** Read-only steps: `dump`, `conf` and `clock`. */
export function wireguardSteps(hub: HubConfig): Step[] {
  return [
    { ...dumpStep(hub), allowFail: true },
    { ...readConfStep(hub), allowFail: true },
    { name: 'clock', argv: ['date', '+%s'], allowFail: true },
  ];
}

/** Parses the dump; null when wg could not read the interface (down, or not WireGuard). */
export function parseLiveState(stdout: string, exitCode: number): WgDump | null {
  if (exitCode !== 0 || stdout.trim() === '') return null;
  try {
    return parseDump(stdout);
  } catch {
    return null;
  }
}

/** The config file's interface settings and peers; null when unreadable. */
export function parseConfigFile(
  stdout: string,
  exitCode: number,
): { settings: InterfaceSettings; peers: ConfPeer[]; lines: string[] } | null {
  if (exitCode !== 0) return null;
  try {
    const conf = parseWgConf(stdout);
    return { settings: interfaceSettings(conf), peers: listPeers(conf), lines: stdout.split('\n') };
  } catch {
    return null;
  }
}

/** The hub's clock in unix seconds, or null. */
export function parseClock(stdout: string): number | null {
  const n = Number(stdout.trim());
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

/** `wg show`-style evidence line for one peer. */
export function peerLine(peer: WgDump['peers'][number], nowSec: number): string {
  const age = peer.latestHandshake === null ? 'never' : `${Math.max(0, nowSec - peer.latestHandshake)}s ago`;
  return `peer ${peer.publicKey}: endpoint ${peer.endpoint ?? '(none)'} allowed ips ${peer.allowedIps.join(', ') || '(none)'} latest handshake ${age} transfer ${peer.transferRx} B received, ${peer.transferTx} B sent`;
}

/** Listening sockets (`ss -H -ltunp`): is WireGuard listening, and what else is? */
import { hubProgram, programStep } from '../programs/registry.js';
import type { Step } from '../ssh/remote-script.js';

/** `ss -H -ltunp`; a program because only root sees every listener's process. */
export const LISTENERS_SH = 'exec ss -H -ltunp';
export const LISTENERS = hubProgram('tunnelgate-listeners', LISTENERS_SH, { arity: 0 });

/** Read-only step: TCP and UDP listeners with their processes. */
export function listenersStep(): Step {
  return programStep('ss', LISTENERS, [], { allowFail: true });
}

/** One listening socket. */
export interface Listener {
  proto: 'udp' | 'tcp';
  /** Local address as ss prints it, without the port (`0.0.0.0`, `[::]`, `*`, `198.51.100.2`). */
  address: string;
  port: number;
  /** First process name ss shows, or null without permission to see it. */
  process: string | null;
  /** The line as read, for evidence. */
  line: string;
}

/** Parses `ss -H -ltunp` output; lines it cannot read are skipped. */
export function parseListeners(stdout: string): Listener[] {
  const listeners: Listener[] = [];
  for (const raw of stdout.split('\n')) {
    const line = raw.trim();
    const parts = line.split(/\s+/);
    const [netid, , , , local] = parts;
    if ((netid !== 'udp' && netid !== 'tcp') || local === undefined) continue;
    const at = local.lastIndexOf(':');
    const port = Number(local.slice(at + 1));
    if (at < 0 || !Number.isInteger(port)) continue;
    const process = /users:\(\("([^"]+)"/.exec(line)?.[1] ?? null;
    listeners.push({ proto: netid, address: local.slice(0, at).replace(/%\S+$/, ''), port, process, line });
  }
  return listeners;
}

/** True for an address only the hub itself can reach. */
export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '[::1]' || address === '::1';
}

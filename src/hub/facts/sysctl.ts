/** Kernel switches (`sysctl`): IPv4 forwarding and whether IPv6 is on. */
import type { Step } from '../ssh/remote-script.js';

const KEYS = ['net.ipv4.ip_forward', 'net.ipv6.conf.all.disable_ipv6'] as const;

/** Read-only step: `sysctl net.ipv4.ip_forward net.ipv6.conf.all.disable_ipv6` (`key = value`). */
export function sysctlStep(): Step {
  return { name: 'sysctl', argv: ['sysctl', ...KEYS], allowFail: true };
}

/** The switches read; null when a key could not be read. */
export interface Sysctls {
  ipForward: boolean | null;
  ipv6Enabled: boolean | null;
  /** The lines read, for evidence. */
  lines: string[];
}

/** Parses `sysctl` output (`key = value` lines). */
export function parseSysctls(stdout: string): Sysctls {
  const values = new Map<string, string>();
  const lines: string[] = [];
  for (const raw of stdout.split('\n')) {
    const m = /^(\S+)\s*=\s*(\S+)$/.exec(raw.trim());
    if (m?.[1] === undefined || m[2] === undefined) continue;
    values.set(m[1], m[2]);
    lines.push(`${m[1]} = ${m[2]}`);
  }
  const flag = (key: string) => (values.has(key) ? values.get(key) === '1' : null);
  const disabled = flag('net.ipv6.conf.all.disable_ipv6');
  return { ipForward: flag('net.ipv4.ip_forward'), ipv6Enabled: disabled === null ? null : !disabled, lines };
}

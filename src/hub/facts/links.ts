/** Interfaces (`ip -j -s link show`): wg0 up, MTUs, error counters. */
import { z } from 'zod';
import type { Step } from '../ssh/remote-script.js';

/** Read-only step: every link with statistics. */
export function linksStep(): Step {
  return { name: 'links', argv: ['ip', '-j', '-s', 'link', 'show'], allowFail: true };
}

const Stats = z.object({ errors: z.number().default(0), dropped: z.number().default(0) }).partial();
const LinkItem = z.object({
  ifname: z.string(),
  flags: z.array(z.string()).default([]),
  mtu: z.number(),
  operstate: z.string().optional(),
  stats64: z.object({ rx: Stats, tx: Stats }).partial().optional(),
});

/** One interface. */
export interface Link {
  name: string;
  up: boolean;
  mtu: number;
  rxErrors: number;
  txErrors: number;
  /** A one-line summary for evidence. */
  line: string;
}

/** Parses `ip -j -s link show`; returns [] for unreadable output. */
export function parseLinks(stdout: string): Link[] {
  let data: unknown;
  try {
    data = JSON.parse(stdout);
  } catch {
    return [];
  }
  const parsed = z.array(LinkItem).safeParse(data);
  if (!parsed.success) return [];
  return parsed.data.map((l) => {
    const rxErrors = l.stats64?.rx?.errors ?? 0;
    const txErrors = l.stats64?.tx?.errors ?? 0;
    const up = l.flags.includes('UP');
    return {
      name: l.ifname,
      up,
      mtu: l.mtu,
      rxErrors,
      txErrors,
      line: `${l.ifname}: <${l.flags.join(',')}> mtu ${l.mtu} state ${l.operstate ?? '?'} rx errors ${rxErrors} tx errors ${txErrors}`,
    };
  });
}

/**
 * Human durations (`90s`, `30m`, `8h`, `7d`, `2w`, or combined `1d12h`) used in config and in
 * commands such as `/vpn request laptop --for 8h`.
 */
import { z } from 'zod';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const PART = /(\d+)([smhdw])/g;
const WHOLE = /^(?:\d+[smhdw])+$/;

/** Parses a duration to milliseconds; returns null when the text is not a duration. */
export function parseDuration(text: string): number | null {
  const trimmed = text.trim();
  if (!WHOLE.test(trimmed)) return null;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(PART)) {
    total += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  }
  return total > 0 ? total : null;
}

/** Formats milliseconds in the largest whole units, e.g. `1d 2h`, `45s`. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))}ms`;
  const parts: string[] = [];
  let rest = Math.floor(ms / 1_000);
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.slice(0, 2).join(' ');
}

/** A duration in config or commands: a string such as `8h`, or whole milliseconds; parsed to ms. */
export const Duration = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const ms =
    typeof value === 'number' ? (Number.isInteger(value) && value > 0 ? value : null) : parseDuration(value);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration (examples: 90s, 30m, 8h, 7d)` });
    return z.NEVER;
  }
  return ms;
});

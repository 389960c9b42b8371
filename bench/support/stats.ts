/**
 * Small statistics for benchmark samples: nearest-rank percentiles and millisecond formatting.
 * Samples are durations in milliseconds.
 */

/** The nearest-rank `p`-th percentile (0 < p <= 100) of `samples`. Throws on an empty list. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new Error('percentile of no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

/** The median (p50). */
export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

/** `123 ms` or `1.23 s`. */
export function ms(value: number): string {
  return value >= 1_000 ? `${(value / 1_000).toFixed(2)} s` : `${Math.round(value)} ms`;
}

/** `p50 X, p99 Y (n=N)`. */
export function distribution(samples: readonly number[]): string {
  return `p50 ${ms(percentile(samples, 50))}, p99 ${ms(percentile(samples, 99))} (n=${samples.length})`;
}

/** `a / b` as `0.42x`. */
export function ratio(a: number, b: number): string {
  return `${(a / b).toFixed(2)}x`;
}

/** Kibibytes as `123 MB` (MiB). */
export function mib(kib: number): string {
  return `${Math.round(kib / 1024)} MB`;
}

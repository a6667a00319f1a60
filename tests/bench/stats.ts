// Percentiles over latency samples, and how much work each benchmark does.

/**
 * Inside the L1 VM everything runs 10-50 times slower (emulated), so the
 * benchmarks that repeat an operation do a tenth as many there: the whole
 * bench then ends in minutes, and per-operation figures and ratios are
 * unchanged.
 */
export const WORK_DIVISOR = process.env.TSVMM_IN_L1 === '1' ? 10 : 1;

/** The middle value (the mean of the two middle ones for an even count); NaN when there is none. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length === 0) return NaN;
  return sorted.length % 2 === 1 ? sorted[mid] as number : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export interface LatencySummary {
  samples: number;
  p50_us: number;
  p99_us: number;
  mean_us: number;
}

export function summarize(samplesNs: bigint[]): LatencySummary {
  const sorted = samplesNs.map((n) => Number(n) / 1000).sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const mean = sorted.reduce((sum, x) => sum + x, 0) / Math.max(1, sorted.length);
  const round = (x: number): number => Math.round(x * 10) / 10;
  return { samples: sorted.length, p50_us: round(at(0.5)), p99_us: round(at(0.99)), mean_us: round(mean) };
}

// Percentiles over latency samples.

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

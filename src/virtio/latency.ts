// Request latency as Cloud Hypervisor's block device counts it: the least,
// the most and the running mean, in microseconds, of the requests that
// succeeded. Cloud Hypervisor reports u64::MAX before the first request;
// tsvmm reports 0, which a JSON number holds exactly.
export class LatencyStats {
  private min = 0;
  private max = 0;
  private mean = 0;
  private count = 0;

  record(micros: number): void {
    this.count++;
    this.min = this.count === 1 ? micros : Math.min(this.min, micros);
    this.max = Math.max(this.max, micros);
    this.mean += (micros - this.mean) / this.count;
  }

  /** `<prefix>_latency_min`, `_max` and `_avg`, whole microseconds. */
  counters(prefix: string): Record<string, number> {
    return {
      [`${prefix}_latency_min`]: this.min,
      [`${prefix}_latency_max`]: this.max,
      [`${prefix}_latency_avg`]: Math.round(this.mean),
    };
  }
}

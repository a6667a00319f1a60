// The recent output of a console, kept while no client is attached so the
// next one to attach sees it: a fixed-size ring that drops the oldest bytes.

export const DEFAULT_RING_BYTES = 64 * 1024;

export class OutputRing {
  private readonly bytes: Uint8Array;
  private start = 0;
  private length = 0;

  constructor(capacity = DEFAULT_RING_BYTES) {
    this.bytes = new Uint8Array(capacity);
  }

  append(data: Uint8Array): void {
    const capacity = this.bytes.length;
    const kept = data.length > capacity ? data.subarray(data.length - capacity) : data;
    let end = (this.start + this.length) % capacity;
    for (let offset = 0; offset < kept.length;) {
      const run = Math.min(kept.length - offset, capacity - end);
      this.bytes.set(kept.subarray(offset, offset + run), end);
      offset += run;
      end = (end + run) % capacity;
    }
    const overflow = Math.max(0, this.length + kept.length - capacity);
    this.start = (this.start + overflow) % capacity;
    this.length = Math.min(capacity, this.length + kept.length);
  }

  /** A copy of what the ring holds, oldest first. */
  contents(): Uint8Array {
    const out = new Uint8Array(this.length);
    const first = Math.min(this.length, this.bytes.length - this.start);
    out.set(this.bytes.subarray(this.start, this.start + first));
    out.set(this.bytes.subarray(0, this.length - first), first);
    return out;
  }
}

// virtio-rng (virtio 1.2, section 5.4): one request queue; each request is a
// device-writable buffer the device fills from the entropy source.
import { closeSync, readSync } from 'node:fs';
import type { DescriptorChain } from './queue.js';
import { VirtioDeviceId, type VirtioDevice } from './device.js';

export class VirtioRng implements VirtioDevice {
  readonly deviceId = VirtioDeviceId.Rng;
  readonly features = 0n;
  readonly queueSizes = [256];
  readonly config = new Uint8Array(0);

  constructor(readonly id: string, private readonly sourceFd: number) {}

  /** Reads straight into guest memory; a short read fills less, never more. */
  handle(_queue: number, chain: DescriptorChain): number {
    let written = 0;
    for (const buffer of chain.writable) {
      const n = readSync(this.sourceFd, buffer, 0, buffer.length, null);
      written += n;
      if (n < buffer.length) break;
    }
    this.bytes += written;
    return written;
  }

  private bytes = 0;

  counters(): Record<string, number> {
    return { read_bytes: this.bytes };
  }

  reset(): void {}

  close(): void {
    closeSync(this.sourceFd);
  }
}

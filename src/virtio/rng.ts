// virtio-rng (virtio 1.2, section 5.4): one request queue; each request is a
// device-writable buffer the device fills from the entropy source.
import { close, readSync } from 'node:fs';
import { promisify } from 'node:util';
import type { DescriptorChain } from './queue.js';
import { serveQueue, VirtioDeviceId, type DeviceQueues, type VirtioDevice } from './device.js';

export class VirtioRng implements VirtioDevice {
  readonly deviceId = VirtioDeviceId.Rng;
  readonly features = 0n;
  readonly queueSizes = [256];
  readonly config = new Uint8Array(0);
  private queues: DeviceQueues | undefined;
  private bytes = 0;

  constructor(readonly id: string, private readonly sourceFd: number) {}

  activate(queues: DeviceQueues): void {
    this.queues = queues;
  }

  notify(queue: number): void {
    if (this.queues) serveQueue(this.queues, queue, (chain) => this.fill(chain));
  }

  /** Reads straight into guest memory; a short read fills less, never more. */
  fill(chain: DescriptorChain): number {
    let written = 0;
    for (const buffer of chain.writable) {
      const n = readSource(this.sourceFd, buffer);
      written += n;
      if (n < buffer.length) break;
    }
    this.bytes += written;
    return written;
  }

  counters(): Record<string, number> {
    return { read_bytes: this.bytes };
  }

  reset(): void {
    this.queues = undefined;
  }

  async close(): Promise<void> {
    this.reset();
    await promisify(close)(this.sourceFd);
  }
}

/** The source is non-blocking: a character device with nothing to give (EAGAIN) gives 0 bytes now. */
function readSource(fd: number, buffer: Uint8Array): number {
  try {
    return readSync(fd, buffer, 0, buffer.length, null);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return 0;
    throw error;
  }
}

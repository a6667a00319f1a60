// A stand-in for the transport host: queues of hand-built chains a device
// model takes, and a record of what it returned, for device unit tests.
import type { DeviceQueues, VirtioDevice } from '../../src/virtio/device.js';
import type { DescriptorChain } from '../../src/virtio/queue.js';

export interface Completion {
  queue: number;
  head: number;
  written: number;
}

export class FakeQueues implements DeviceQueues {
  live = true;
  readonly offered: DescriptorChain[][] = [];
  readonly taken: DescriptorChain[][] = [];
  readonly completions: Completion[] = [];
  failure: unknown;
  private waiters: Array<() => void> = [];

  offer(queue: number, ...chains: DescriptorChain[]): void {
    (this.offered[queue] ??= []).push(...chains);
  }

  pop(queue: number): DescriptorChain | undefined {
    const chain = this.live ? this.offered[queue]?.shift() : undefined;
    if (chain) (this.taken[queue] ??= []).push(chain);
    return chain;
  }

  unpop(queue: number, count: number): void {
    const back = (this.taken[queue] ?? []).splice(-count, count);
    (this.offered[queue] ??= []).unshift(...back);
  }

  complete(queue: number, head: number, written: number): void {
    if (!this.live) return;
    this.completions.push({ queue, head, written });
    this.waiters.splice(0).forEach((wake) => wake());
  }

  fail(error: unknown): void {
    this.failure = error;
    this.live = false;
  }

  /** Resolves once `count` chains in all have been returned. */
  async completed(count: number): Promise<Completion[]> {
    while (this.completions.length < count) await new Promise<void>((wake) => this.waiters.push(wake));
    return this.completions;
  }
}

export function chain(readable: Uint8Array[], writable: Uint8Array[], head = 0): DescriptorChain {
  return {
    head, readable, writable,
    readableLength: readable.reduce((sum, b) => sum + b.length, 0),
    writableLength: writable.reduce((sum, b) => sum + b.length, 0),
  };
}

/** Activates `device`, offers one chain on `queue` and returns the bytes the device wrote into it. */
export async function serveOne(device: VirtioDevice, request: DescriptorChain, queue = 0, features = 0n): Promise<number> {
  const queues = new FakeQueues();
  device.activate(queues, features);
  queues.offer(queue, request);
  device.notify(queue);
  const [completion] = await queues.completed(1);
  return (completion as Completion).written;
}

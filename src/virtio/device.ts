// The contract between a virtio device model and the transport host. The
// host hands a device its live queues when the driver sets DRIVER_OK and
// tells it about notifications; the device takes chains and returns them,
// at once or later (asynchronous I/O), through those queues.
import type { DescriptorChain } from './queue.js';

export const VirtioDeviceId = { Net: 1, Block: 2, Console: 3, Rng: 4, Vsock: 19 } as const;

/** A device's view of its live queues; it goes dead when the driver resets the device. */
export interface DeviceQueues {
  /** False once the driver reset the device or it failed: completions are then ignored. */
  readonly live: boolean;
  /** The next chain the driver offered on `queue`, or undefined (none, or a broken queue: the device then failed). */
  pop(queue: number): DescriptorChain | undefined;
  /** Gives back the last `count` chains taken from `queue` that were not returned. */
  unpop(queue: number, count: number): void;
  /** Returns a chain with the number of bytes written into it; the interrupt follows once per turn. */
  complete(queue: number, head: number, written: number): void;
  /** The guest broke a rule or the backend failed: the device needs a reset. */
  fail(error: unknown): void;
}

export interface VirtioDevice {
  readonly id: string;
  readonly deviceId: number;
  readonly features: bigint;
  readonly queueSizes: number[];
  /** The device-specific configuration space, read-only to the driver. */
  readonly config: Uint8Array;
  /** The driver set DRIVER_OK with these queues and the features it accepted. */
  activate(queues: DeviceQueues, features: bigint): void;
  /** The driver offered buffers on `queue`. */
  notify(queue: number): void;
  /** The driver reset the device (or the VM stops): drop the queues. */
  reset(): void;
  /** A snapshot is being taken: resolves once no request is in flight (the queues hand out nothing meanwhile). */
  quiesce?(): Promise<void>;
  /** The VM was restored from a snapshot and its queues are live again: drop what the host side cannot carry over. */
  restored?(): void;
  /** The VM is gone: wait for requests in flight, then release host resources. */
  close(): Promise<void>;
  /** Counters for vm.counters, by name. */
  counters(): Record<string, number>;
}

/** Serves every chain waiting on `queue` with a synchronous handler that returns the bytes it wrote. */
export function serveQueue(queues: DeviceQueues, queue: number, handle: (chain: DescriptorChain) => number): void {
  for (let chain = queues.pop(queue); chain; chain = queues.pop(queue)) {
    queues.complete(queue, chain.head, handle(chain));
    if (!queues.live) return;
  }
}

export function hasFeature(features: bigint, bit: number): boolean {
  return (features & (1n << BigInt(bit))) !== 0n;
}

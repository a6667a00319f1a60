// The contract between a virtio device model and the transport host.
import type { DescriptorChain } from './queue.js';

export const VirtioDeviceId = { Net: 1, Block: 2, Console: 3, Rng: 4 } as const;

export interface VirtioDevice {
  readonly id: string;
  readonly deviceId: number;
  readonly features: bigint;
  readonly queueSizes: number[];
  /** The device-specific configuration space, read-only to the driver. */
  readonly config: Uint8Array;
  /** Handles one chain; returns how many bytes it wrote into the chain's writable buffers. */
  handle(queue: number, chain: DescriptorChain): number;
  /** The driver reset the device (or the VM stops): drop any state. */
  reset(): void;
  /** The VM is gone: release host resources. */
  close(): void;
  /** Counters for vm.counters, by name. */
  counters(): Record<string, number>;
}


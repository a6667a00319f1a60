// The host side of a virtio-net device: where the guest's frames go and
// where the frames it receives come from.
import type { NetConfig } from '../../config/schema.js';

export interface NetBackend {
  /** Hands each frame from the host side to `receive`; the frame is only valid during the call. */
  start(receive: (frame: Uint8Array) => void): void;
  /** Sends one Ethernet frame; false when the host side dropped it at once. */
  send(frame: Uint8Array): boolean;
  /** Flow control: stops reading the host side where frames can wait there (a TAP queues them in the kernel). */
  pauseReceive(): void;
  resumeReceive(): void;
  /** What the backend chose itself: the TAP name, the bound local address. */
  resolved(): Partial<NetConfig>;
  /** Backend-specific counters, merged into the device's. */
  counters(): Record<string, number>;
  close(): Promise<void>;
}

// virtio-net (virtio 1.2, section 5.1): a receive queue and a transmit
// queue, each frame preceded by a 12-byte virtio_net_hdr. No offloads are
// offered, so the header carries only num_buffers. With MRG_RXBUF a large
// frame spreads over several receive chains. A frame that arrives while the
// guest has no receive buffers waits in a bounded backlog; past that it is
// dropped and counted, never lost silently.
import type { NetBackend } from './net/backend.js';
import type { NetConfig } from '../config/schema.js';
import { hasFeature, serveQueue, VirtioDeviceId, type DeviceQueues, type VirtioDevice } from './device.js';
import { after, gather, scatter } from './buffers.js';
import { QueueError, type DescriptorChain } from './queue.js';

export const NET_HEADER_SIZE = 12;
const NUM_BUFFERS_OFFSET = 10;
export const RX_QUEUE = 0;
export const TX_QUEUE = 1;
export const BACKLOG_FRAMES = 256;
/** Without GSO a frame is at most the MTU plus its Ethernet header; this bounds what any backend may hand over. */
export const MAX_FRAME = 65535;
export const NetFeature = { Mtu: 3, Mac: 5, MrgRxbuf: 15, Status: 16 } as const;
export const DEFAULT_QUEUE_SIZE = 256;
/** Config space offsets (struct virtio_net_config). */
const ConfigOffset = { Mac: 0, Status: 6, Mtu: 10, Size: 12 } as const;

export interface NetOptions {
  queueSize?: number;
  /** Offered with VIRTIO_NET_F_MTU. */
  mtu?: number;
}
const LINK_UP = 1;

export class VirtioNet implements VirtioDevice {
  readonly deviceId = VirtioDeviceId.Net;
  readonly features: bigint;
  readonly queueSizes: number[];
  readonly config = new Uint8Array(ConfigOffset.Size);
  private readonly stats = { rx_bytes: 0, rx_frames: 0, rx_dropped: 0, tx_bytes: 0, tx_frames: 0, tx_dropped: 0 };
  private readonly backlog: Uint8Array[] = [];
  private queues: DeviceQueues | undefined;
  private mergeable = false;

  constructor(readonly id: string, mac: Uint8Array, private readonly backend: NetBackend, options: NetOptions = {}) {
    const bit = (n: number): bigint => 1n << BigInt(n);
    this.features = bit(NetFeature.Mac) | bit(NetFeature.MrgRxbuf) | bit(NetFeature.Status)
      | (options.mtu === undefined ? 0n : bit(NetFeature.Mtu));
    const queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
    this.queueSizes = [queueSize, queueSize];
    this.config.set(mac, ConfigOffset.Mac);
    const view = new DataView(this.config.buffer);
    view.setUint16(ConfigOffset.Status, LINK_UP, true);
    if (options.mtu !== undefined) view.setUint16(ConfigOffset.Mtu, options.mtu, true);
    backend.start((frame) => this.receive(frame));
  }

  activate(queues: DeviceQueues, features: bigint): void {
    this.queues = queues;
    this.mergeable = hasFeature(features, NetFeature.MrgRxbuf);
  }

  notify(queue: number): void {
    if (queue === TX_QUEUE) this.transmit();
    else if (queue === RX_QUEUE) this.drainBacklog();
  }

  private transmit(): void {
    if (!this.queues) return;
    serveQueue(this.queues, TX_QUEUE, (chain) => {
      this.send(chain);
      return 0;
    });
  }

  private send(chain: DescriptorChain): void {
    const length = chain.readableLength - NET_HEADER_SIZE;
    if (length <= 0 || length > MAX_FRAME) {
      this.stats.tx_dropped++;
      return;
    }
    const frame = gather(after(chain.readable, NET_HEADER_SIZE), length) as Uint8Array;
    if (this.backend.send(frame)) {
      this.stats.tx_frames++;
      this.stats.tx_bytes += length;
    } else {
      this.stats.tx_dropped++;
    }
  }

  /** A frame from the backend: to the guest now, into the backlog, or counted as dropped. */
  private receive(frame: Uint8Array): void {
    if (frame.length > MAX_FRAME) {
      this.stats.rx_dropped++;
    } else if (this.backlog.length === 0 && this.deliver(frame)) {
      return;
    } else if (this.backlog.length < BACKLOG_FRAMES) {
      this.backlog.push(frame.slice());
      if (this.backlog.length === 1) this.backend.pauseReceive();
    } else {
      this.stats.rx_dropped++;
    }
  }

  private drainBacklog(): void {
    while (this.backlog.length > 0 && this.deliver(this.backlog[0] as Uint8Array)) this.backlog.shift();
    if (this.backlog.length === 0) this.backend.resumeReceive();
  }

  /**
   * Writes a frame into as many receive chains as it needs (one without
   * MRG_RXBUF); false, taking nothing, when the guest has not offered enough.
   */
  private deliver(frame: Uint8Array): boolean {
    const queues = this.queues;
    if (!queues) return false;
    const needed = NET_HEADER_SIZE + frame.length;
    const chains: DescriptorChain[] = [];
    let capacity = 0;
    while (capacity < needed && (this.mergeable || chains.length === 0)) {
      const chain = queues.pop(RX_QUEUE);
      if (!chain) {
        queues.unpop(RX_QUEUE, chains.length);
        return false;
      }
      if (chain.writableLength === 0 || chain.readableLength !== 0) {
        queues.fail(new QueueError(`receive chain ${chain.head} is not a device-writable buffer`));
        return false;
      }
      chains.push(chain);
      capacity += chain.writableLength;
    }
    if (capacity < needed) {
      // One buffer smaller than the frame, and the driver cannot merge: the frame cannot be given.
      queues.unpop(RX_QUEUE, 1);
      this.stats.rx_dropped++;
      return true;
    }
    const header = new Uint8Array(NET_HEADER_SIZE);
    new DataView(header.buffer).setUint16(NUM_BUFFERS_OFFSET, chains.length, true);
    let offset = 0;
    for (const chain of chains) {
      const written = scatter(chain.writable, [header, frame], offset);
      offset += written;
      queues.complete(RX_QUEUE, chain.head, written);
    }
    this.stats.rx_frames++;
    this.stats.rx_bytes += frame.length;
    return true;
  }

  counters(): Record<string, number> {
    return { ...this.stats, ...this.backend.counters() };
  }

  resolved(): Partial<NetConfig> {
    return this.backend.resolved();
  }

  reset(): void {
    this.queues = undefined;
    this.backlog.length = 0;
    this.backend.resumeReceive();
  }

  close(): Promise<void> {
    this.reset();
    return this.backend.close();
  }
}

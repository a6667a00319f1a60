// Runs a virtio device in the VMM's control loop thread: each queue's
// notifications arrive through an ioeventfd (no vCPU exit), interrupts leave
// through an irqfd, and the transport's register file is shared with the
// vCPU threads that answer the guest's register accesses.
import { native, type FdWatch } from '../native.js';
import { RateLimitedLog } from '../util/rate-limit.js';
import type { GuestMemory } from '../vm/memory.js';
import type { DeviceQueues, VirtioDevice } from './device.js';
import { Interrupt, VirtioMmioRegisters, VirtioMmioSignals } from './mmio.js';
import { QueueError, SplitQueue, type DescriptorChain, type QueueIndices, type QueueLayout } from './queue.js';

const QUEUE_NOTIFY = 0x050;
const KVM_IOEVENTFD_FLAG_DATAMATCH = 1;
const KVM_IOEVENTFD_FLAG_DEASSIGN = 4;
const KVM_IRQFD_FLAG_DEASSIGN = 1;

/** What a vCPU thread needs to present this device on its MMIO bus. */
export interface VirtioMmioSlot {
  base: number;
  gsi: number;
  state: SharedArrayBuffer;
  irqFd: number;
  deviceId: number;
  features: bigint;
  queueSizes: number[];
  config: Uint8Array;
}

/** A transport in a snapshot: its register file's bytes and, while live, where the device is in each queue. */
export interface VirtioTransportState {
  registers: Uint8Array;
  queues: Array<QueueIndices | null>;
}

export type TransportEvent =
  | { type: 'activate'; queues: Array<QueueLayout | undefined>; features: bigint }
  | { type: 'reset' };

/**
 * One activation's queues. A reset or failure ends it: from then on it
 * hands out nothing and ignores completions of requests still in flight.
 */
class LiveQueues implements DeviceQueues {
  live = true;
  /** While a snapshot is taken: nothing is handed out, so guest memory and the indices stay still. */
  frozen = false;
  private readonly pending = new Set<number>();
  private signalScheduled = false;

  constructor(private readonly queues: Array<SplitQueue | undefined>, private readonly host: VirtioMmioHost) {}

  pop(queue: number): DescriptorChain | undefined {
    const ring = this.live && !this.frozen ? this.queues[queue] : undefined;
    if (!ring) return undefined;
    try {
      return ring.pop();
    } catch (error) {
      this.host.fail(error);
      return undefined;
    }
  }

  unpop(queue: number, count: number): void {
    if (this.live) this.queues[queue]?.unpop(count);
  }

  complete(queue: number, head: number, written: number): void {
    const ring = this.live ? this.queues[queue] : undefined;
    if (!ring) return;
    ring.pushUsed(head, written);
    this.pending.add(queue);
    if (!this.signalScheduled) {
      this.signalScheduled = true;
      queueMicrotask(() => this.signal());
    }
  }

  /** One interrupt for everything completed this turn, if the driver wants one. */
  private signal(): void {
    this.signalScheduled = false;
    if (!this.live) return;
    let wanted = false;
    for (const queue of this.pending) wanted = (this.queues[queue]?.needsInterrupt() ?? false) || wanted;
    this.pending.clear();
    if (wanted) this.host.raiseUsedBufferInterrupt();
  }

  fail(error: unknown): void {
    this.host.fail(error);
  }

  get indices(): Array<QueueIndices | null> {
    return this.queues.map((queue) => queue?.indices ?? null);
  }
}

export class VirtioMmioHost {
  readonly slot: VirtioMmioSlot;
  private readonly signals: VirtioMmioSignals;
  private readonly notifyFds: number[];
  private readonly watches: FdWatch[];
  private live: LiveQueues | undefined;
  /** Activations ended by a guest that broke the queue rules or a backend that failed. */
  private failures = 0;
  private readonly failureLog = new RateLimitedLog();

  constructor(
    private readonly vmFd: number,
    private readonly memory: GuestMemory,
    readonly device: VirtioDevice,
    base: number,
    gsi: number,
  ) {
    const state = VirtioMmioSignals.createState();
    const irqFd = native.createEventFd();
    native.irqfd(vmFd, irqFd, gsi, 0);
    this.slot = {
      base, gsi, state, irqFd,
      deviceId: device.deviceId, features: device.features, queueSizes: device.queueSizes, config: device.config,
    };
    this.signals = new VirtioMmioSignals(state, () => native.writeEventFd(irqFd));
    this.notifyFds = device.queueSizes.map((_, queue) => {
      const fd = native.createEventFd();
      native.ioeventfd(vmFd, fd, base + QUEUE_NOTIFY, 4, KVM_IOEVENTFD_FLAG_DATAMATCH, queue);
      return fd;
    });
    this.watches = this.notifyFds.map((fd, queue) => native.watchFd(fd, () => {
      native.readEventFd(fd);
      this.notify(queue);
    }));
  }

  /** Activation and reset, reported by the vCPU thread that saw the register write. */
  onTransportEvent(event: TransportEvent): void {
    this.endActivation();
    if (event.type === 'reset') return;
    this.activate(event.queues, event.features);
  }

  private activate(layouts: Array<QueueLayout | undefined>, features: bigint, indices: Array<QueueIndices | null> = []): void {
    let queues: Array<SplitQueue | undefined>;
    try {
      queues = layouts.map((layout) => (layout ? new SplitQueue(this.memory, layout) : undefined));
    } catch (error) {
      this.fail(error);
      return;
    }
    queues.forEach((queue, i) => {
      const saved = indices[i];
      if (queue && saved) queue.restoreIndices(saved);
    });
    this.live = new LiveQueues(queues, this);
    this.device.activate(this.live, features);
    if (indices.length > 0) this.device.restored?.();
    // Buffers offered before this message arrived were notified into the void.
    queues.forEach((_, queue) => this.notify(queue));
  }

  /** Stops handing out buffers and waits for the device's requests in flight, for a snapshot. */
  async freeze(): Promise<void> {
    if (!this.live) return;
    this.live.frozen = true;
    await this.device.quiesce?.();
  }

  /** Hands out buffers again after a snapshot, and serves what the guest offered meanwhile. */
  thaw(): void {
    if (!this.live?.frozen) return;
    this.live.frozen = false;
    this.device.queueSizes.forEach((_, queue) => this.notify(queue));
  }

  /** The transport's state; the device must be frozen (or never activated). */
  saveState(): VirtioTransportState {
    return { registers: new Uint8Array(this.slot.state).slice(), queues: this.live?.indices ?? [] };
  }

  /**
   * Puts a saved state into a new transport before its vCPUs run: the
   * register file, and, when the driver had the device live, its queues
   * with their indices.
   */
  restoreState(state: VirtioTransportState): void {
    const registers = new Uint8Array(this.slot.state);
    if (state.registers.length !== registers.length) {
      throw new Error(`virtio ${this.device.id}: the snapshot's register file has ${state.registers.length} bytes, not ${registers.length}`);
    }
    registers.set(state.registers);
    const activation = new VirtioMmioRegisters(this.slot.state, this.slot, () => {}, {
      activate: () => {}, reset: () => {}, validateQueue: () => {},
    }).activation();
    if (activation) this.activate(activation.queues, activation.features, state.queues);
  }

  /** After a restore, once the VM's irqchip state is in place (see VirtioMmioSignals.resendPending). */
  resendPendingInterrupt(): void {
    this.signals.resendPending();
  }

  private notify(queue: number): void {
    if (!this.live) return;
    try {
      this.device.notify(queue);
    } catch (error) {
      this.fail(error);
    }
  }

  raiseUsedBufferInterrupt(): void {
    this.signals.raiseInterrupt(Interrupt.UsedBuffer);
  }

  /** A guest that broke the queue rules, or a backend that failed: the device stops, the VMM carries on. */
  fail(error: unknown): void {
    if (!this.live) return;
    this.failures++;
    this.logFailure(error);
    this.endActivation();
    this.signals.needsReset();
  }

  /** Guest-triggerable, so rate limited. */
  private logFailure(error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    if (error instanceof QueueError) this.failureLog.warn(`virtio ${this.device.id}: ${reason}; the device needs a reset`);
    else this.failureLog.error(`virtio ${this.device.id}: backend failed: ${reason}; the device needs a reset`);
  }

  /** The device's counters and the transport's: queue failures and refused rings. */
  counters(): Record<string, number> {
    return { ...this.device.counters(), queue_failures: this.failures, rings_refused: this.signals.ringsRefused };
  }

  private endActivation(): void {
    if (!this.live) return;
    this.live.live = false;
    this.live = undefined;
    this.device.reset();
  }

  /** Waits for the device's requests in flight, then releases everything. */
  async close(): Promise<void> {
    this.watches.forEach((watch) => native.unwatchFd(watch));
    this.endActivation();
    await this.device.close();
    this.notifyFds.forEach((fd, queue) => {
      native.ioeventfd(this.vmFd, fd, this.slot.base + QUEUE_NOTIFY, 4, KVM_IOEVENTFD_FLAG_DATAMATCH | KVM_IOEVENTFD_FLAG_DEASSIGN, queue);
      native.close(fd);
    });
    native.irqfd(this.vmFd, this.slot.irqFd, this.slot.gsi, KVM_IRQFD_FLAG_DEASSIGN);
    native.close(this.slot.irqFd);
  }
}

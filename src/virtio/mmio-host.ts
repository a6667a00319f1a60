// Runs a virtio device in the VMM's control loop thread: each queue's
// notifications arrive through an ioeventfd (no vCPU exit), interrupts leave
// through an irqfd, and the transport's register file is shared with the
// vCPU threads that answer the guest's register accesses.
import { native, type FdWatch } from '../native.js';
import { log } from '../util/log.js';
import type { GuestMemory } from '../vm/memory.js';
import type { VirtioDevice } from './device.js';
import { Interrupt, VirtioMmioTransport } from './mmio.js';
import { QueueError, SplitQueue, type QueueLayout } from './queue.js';

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

export type TransportEvent =
  | { type: 'activate'; queues: Array<QueueLayout | undefined> }
  | { type: 'reset' };

export class VirtioMmioHost {
  readonly slot: VirtioMmioSlot;
  private readonly transport: VirtioMmioTransport;
  private readonly notifyFds: number[];
  private readonly watches: FdWatch[];
  private queues: Array<SplitQueue | undefined> = [];

  constructor(
    private readonly vmFd: number,
    private readonly memory: GuestMemory,
    readonly device: VirtioDevice,
    base: number,
    gsi: number,
  ) {
    const state = VirtioMmioTransport.createState();
    const irqFd = native.createEventFd();
    native.irqfd(vmFd, irqFd, gsi, 0);
    this.slot = {
      base, gsi, state, irqFd,
      deviceId: device.deviceId, features: device.features, queueSizes: device.queueSizes, config: device.config,
    };
    this.transport = new VirtioMmioTransport(state, device, {
      activate: () => {}, reset: () => {}, notify: (queue) => this.process(queue),
      interrupt: (level) => { if (level) native.writeEventFd(irqFd); },
      writeConfig: () => {}, validateQueue: () => {},
    });
    this.notifyFds = device.queueSizes.map((_, queue) => {
      const fd = native.createEventFd();
      native.ioeventfd(vmFd, fd, base + QUEUE_NOTIFY, 4, KVM_IOEVENTFD_FLAG_DATAMATCH, queue);
      return fd;
    });
    this.watches = this.notifyFds.map((fd, queue) => native.watchFd(fd, () => {
      native.readEventFd(fd);
      this.process(queue);
    }));
  }

  /** Activation and reset, reported by the vCPU thread that saw the register write. */
  onTransportEvent(event: TransportEvent): void {
    if (event.type === 'reset') {
      this.queues = [];
      this.device.reset();
      return;
    }
    try {
      this.queues = event.queues.map((layout) => (layout ? new SplitQueue(this.memory, layout) : undefined));
    } catch (error) {
      this.fail(error);
      return;
    }
    // Buffers offered before this message arrived were notified into the void.
    this.queues.forEach((_, queue) => this.process(queue));
  }

  private process(index: number): void {
    const queue = this.queues[index];
    if (!queue) return;
    try {
      for (let chain = queue.pop(); chain; chain = queue.pop()) {
        queue.pushUsed(chain.head, this.device.handle(index, chain));
      }
      if (queue.needsInterrupt()) this.transport.raiseInterrupt(Interrupt.UsedBuffer);
    } catch (error) {
      this.fail(error);
    }
  }

  /** A guest that broke the queue rules, or a backend that failed: the device stops, the VMM carries on. */
  private fail(error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    if (error instanceof QueueError) log.warn(`virtio ${this.device.id}: ${reason}; the device needs a reset`);
    else log.error(`virtio ${this.device.id}: backend failed: ${reason}; the device needs a reset`);
    this.queues = [];
    this.transport.needsReset();
  }

  close(): void {
    this.watches.forEach((watch) => native.unwatchFd(watch));
    this.notifyFds.forEach((fd, queue) => {
      native.ioeventfd(this.vmFd, fd, this.slot.base + QUEUE_NOTIFY, 4, KVM_IOEVENTFD_FLAG_DATAMATCH | KVM_IOEVENTFD_FLAG_DEASSIGN, queue);
      native.close(fd);
    });
    native.irqfd(this.vmFd, this.slot.irqFd, this.slot.gsi, KVM_IRQFD_FLAG_DEASSIGN);
    native.close(this.slot.irqFd);
    this.device.close();
  }
}

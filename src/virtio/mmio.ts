// The virtio-mmio transport, version 2 (virtio 1.2, section 4.2.2). Its
// state lives in shared memory and has two views: the register file a driver
// programs (VirtioMmioRegisters, built in each vCPU thread, which answers the
// guest's accesses and reports activation and resets), and the device side's
// signals (VirtioMmioSignals, built once in the control loop: interrupts,
// config changes, NEEDS_RESET). Queue notifications reach the device through
// ioeventfds, not through the register file.
//
// Every value the guest writes is checked: feature bits it was not offered,
// status bits it may not set, queue registers written while a queue is live,
// queue sizes and ring addresses (checked with `validateQueue` when the
// queue is made ready). A broken rule sets DEVICE_NEEDS_RESET.
import type { BusDevice } from '../devices/bus.js';
import { readConfigSpace } from '../devices/config-space.js';
import { SharedRegisters } from '../devices/shared-registers.js';
import { errorMessage } from '../util/errors.js';
import { RateLimitedLog } from '../util/rate-limit.js';
import { isValidQueueSize, type QueueLayout } from './queue.js';

export const MMIO_MAGIC = 0x7472_6976; // "virt"
export const MMIO_VERSION = 2;
export const VENDOR_ID = 0x4d56_5354; // "TSVM"
export const VIRTIO_F_VERSION_1 = 32;
export const VIRTIO_F_RING_EVENT_IDX = 29;
export const VIRTIO_F_INDIRECT_DESC = 28;

export const Status = {
  Acknowledge: 1,
  Driver: 2,
  DriverOk: 4,
  FeaturesOk: 8,
  NeedsReset: 64,
  Failed: 128,
} as const;

export const Interrupt = { UsedBuffer: 1, ConfigChange: 2 } as const;

const Register = {
  Magic: 0x000, Version: 0x004, DeviceId: 0x008, VendorId: 0x00c,
  DeviceFeatures: 0x010, DeviceFeaturesSel: 0x014, DriverFeatures: 0x020, DriverFeaturesSel: 0x024,
  QueueSel: 0x030, QueueNumMax: 0x034, QueueNum: 0x038, QueueReady: 0x044, QueueNotify: 0x050,
  InterruptStatus: 0x060, InterruptAck: 0x064, Status: 0x070,
  QueueDescLow: 0x080, QueueDescHigh: 0x084, QueueDriverLow: 0x090, QueueDriverHigh: 0x094,
  QueueDeviceLow: 0x0a0, QueueDeviceHigh: 0x0a4, ShmSel: 0x0ac, ShmLenLow: 0x0b0, ShmLenHigh: 0x0b4,
  ShmBaseLow: 0x0b8, ShmBaseHigh: 0x0bc, ConfigGeneration: 0x0fc, Config: 0x100,
} as const;

export const MMIO_SIZE = 0x1000;
/** Offered by every device: a modern device, and the ring features SplitQueue implements. */
export const TRANSPORT_FEATURES =
  (1n << BigInt(VIRTIO_F_VERSION_1)) | (1n << BigInt(VIRTIO_F_RING_EVENT_IDX)) | (1n << BigInt(VIRTIO_F_INDIRECT_DESC));
export const MAX_QUEUES = 16;

/** What a device model tells the transport about itself. */
export interface VirtioDeviceInfo {
  deviceId: number;
  /** Device-specific feature bits offered (VERSION_1 and the ring features are added). */
  features: bigint;
  /** QueueNumMax of each queue. */
  queueSizes: number[];
  /** The device-specific configuration space, as the driver reads it. */
  config: Uint8Array;
}

/** What the register file reports to the device side. */
export interface RegisterEvents {
  /** DRIVER_OK: the driver finished set-up; `queues[i]` is queue i, undefined when not ready. */
  activate(queues: Array<QueueLayout | undefined>, features: bigint): void;
  /** The driver wrote 0 to Status. */
  reset(): void;
  /** Throws with the reason when a queue's rings are not usable. */
  validateQueue(layout: QueueLayout): void;
}

// Shared slots: transport-wide, then one block per queue.
const enum Slot {
  Status, DeviceFeaturesSel, DriverFeaturesSel, DriverFeaturesLow, DriverFeaturesHigh, QueueSel,
  InterruptStatus, ConfigGeneration, RingsRefused, Global,
}
const enum QueueSlot { Num, Ready, DescLow, DescHigh, DriverLow, DriverHigh, DeviceLow, DeviceHigh, Size }

const STATE_SLOTS = Slot.Global + MAX_QUEUES * QueueSlot.Size;

/**
 * The device side's view of a transport: what a device raises towards the
 * driver. `signal` delivers one interrupt edge (an irqfd write).
 */
export class VirtioMmioSignals extends SharedRegisters {
  static createState(): SharedArrayBuffer {
    return SharedRegisters.allocate(STATE_SLOTS);
  }

  constructor(buffer: SharedArrayBuffer, private readonly signal: () => void) {
    super(buffer, STATE_SLOTS);
  }

  /** Raises an interrupt reason (used buffer or config change). */
  raiseInterrupt(reason: number): void {
    const newlySet = this.locked(() => {
      const before = this.get(Slot.InterruptStatus);
      this.set(Slot.InterruptStatus, before | reason);
      return (before & reason) !== reason;
    });
    // One edge per reason that was not already pending: a config change that
    // comes while a used-buffer interrupt is being handled still gets its own.
    if (newlySet) this.signal();
  }

  /**
   * A restored VM's pending interrupt gets its edge again. The snapshot's
   * register file may say an interrupt is pending while the irqchip state
   * saved beside it never saw the edge (an irqfd is injected by the kernel
   * a little later), and raiseInterrupt sends no edge for a reason already
   * pending: the driver would wait for this device forever. An extra edge
   * is harmless; the driver reads the status and acknowledges what it finds.
   */
  resendPending(): void {
    if (this.locked(() => this.get(Slot.InterruptStatus)) !== 0) this.signal();
  }

  /** The config space changed; the driver re-reads it. */
  configChanged(): void {
    this.locked(() => this.set(Slot.ConfigGeneration, (this.get(Slot.ConfigGeneration) + 1) | 0));
    this.raiseInterrupt(Interrupt.ConfigChange);
  }

  /** The guest broke a rule or the backend failed; the driver must reset the device. */
  needsReset(): void {
    this.locked(() => this.set(Slot.Status, this.get(Slot.Status) | Status.NeedsReset));
    this.raiseInterrupt(Interrupt.ConfigChange);
  }

  get status(): number {
    return this.locked(() => this.get(Slot.Status));
  }

  /** How many times the driver made a queue ready with rings the device refused (kept across resets). */
  get ringsRefused(): number {
    return this.locked(() => this.get(Slot.RingsRefused));
  }
}

/**
 * The register file the driver programs, answered in a vCPU thread. Writes
 * to the device-specific config space are ignored: no device here has a
 * writable config field.
 */
export class VirtioMmioRegisters extends VirtioMmioSignals implements BusDevice {
  private readonly features: bigint;
  private readonly refusalLog = new RateLimitedLog();

  constructor(buffer: SharedArrayBuffer, private readonly info: VirtioDeviceInfo, signal: () => void, private readonly events: RegisterEvents) {
    super(buffer, signal);
    if (info.queueSizes.length > MAX_QUEUES) throw new Error(`a device may have at most ${MAX_QUEUES} queues`);
    this.features = info.features | TRANSPORT_FEATURES;
  }

  read(offset: number, size: number): number {
    if (offset >= Register.Config) return readConfigSpace(this.info.config, offset - Register.Config, size);
    if (size !== 4 || offset % 4 !== 0) return 0xffff_ffff;
    return this.locked(() => this.readRegister(offset)) >>> 0;
  }

  write(offset: number, size: number, value: number): void {
    if (offset >= Register.Config || size !== 4 || offset % 4 !== 0) return;
    const effects = this.locked(() => this.writeRegister(offset, value >>> 0));
    effects?.();
  }

  /** A guest access threw (a bug this transport did not foresee): the driver must reset the device. */
  fault(): void {
    this.needsReset();
  }

  private queueSlot(slot: QueueSlot): number {
    return Slot.Global + this.get(Slot.QueueSel) * QueueSlot.Size + slot;
  }

  private selectedQueueExists(): boolean {
    return this.get(Slot.QueueSel) < this.info.queueSizes.length;
  }

  private readRegister(offset: number): number {
    switch (offset) {
      case Register.Magic: return MMIO_MAGIC;
      case Register.Version: return MMIO_VERSION;
      case Register.DeviceId: return this.info.deviceId;
      case Register.VendorId: return VENDOR_ID;
      case Register.DeviceFeatures: {
        const select = this.get(Slot.DeviceFeaturesSel);
        return select > 1 ? 0 : Number((this.features >> BigInt(32 * select)) & 0xffff_ffffn);
      }
      case Register.QueueNumMax:
        return this.selectedQueueExists() ? this.info.queueSizes[this.get(Slot.QueueSel)] ?? 0 : 0;
      case Register.QueueReady: return this.selectedQueueExists() ? this.get(this.queueSlot(QueueSlot.Ready)) : 0;
      case Register.InterruptStatus: return this.get(Slot.InterruptStatus);
      case Register.Status: return this.get(Slot.Status);
      case Register.ShmLenLow:
      case Register.ShmLenHigh: return 0xffff_ffff; // no shared memory regions
      case Register.ConfigGeneration: return this.get(Slot.ConfigGeneration);
      default: return 0;
    }
  }

  /** Returns work to do once the lock is released (callbacks into the device). */
  private writeRegister(offset: number, value: number): (() => void) | undefined {
    switch (offset) {
      case Register.DeviceFeaturesSel: this.set(Slot.DeviceFeaturesSel, value); return undefined;
      case Register.DriverFeaturesSel: this.set(Slot.DriverFeaturesSel, value); return undefined;
      case Register.DriverFeatures: return this.writeDriverFeatures(value);
      case Register.QueueSel: this.set(Slot.QueueSel, Math.min(value, MAX_QUEUES)); return undefined;
      case Register.InterruptAck:
        this.set(Slot.InterruptStatus, this.get(Slot.InterruptStatus) & ~value);
        return undefined;
      case Register.Status: return this.writeStatus(value);
      case Register.QueueReady: return this.writeQueueReady(value);
      default: return this.writeQueueRegister(offset, value);
    }
  }

  private writeDriverFeatures(value: number): undefined {
    const status = this.get(Slot.Status);
    if (!(status & Status.Driver) || status & Status.FeaturesOk) return undefined;
    const select = this.get(Slot.DriverFeaturesSel);
    if (select === 0) this.set(Slot.DriverFeaturesLow, value | 0);
    else if (select === 1) this.set(Slot.DriverFeaturesHigh, value | 0);
    return undefined;
  }

  private driverFeatures(): bigint {
    return (BigInt(this.get(Slot.DriverFeaturesHigh) >>> 0) << 32n) | BigInt(this.get(Slot.DriverFeaturesLow) >>> 0);
  }

  private writeStatus(value: number): (() => void) | undefined {
    if (value === 0) {
      this.resetState();
      return () => this.events.reset();
    }
    const current = this.get(Slot.Status);
    // The driver only adds bits (reset aside), and never sets NEEDS_RESET itself.
    if ((current & ~value & ~Status.NeedsReset) !== 0 || (value & Status.NeedsReset && !(current & Status.NeedsReset))) {
      return undefined;
    }
    let next = value;
    if (value & Status.FeaturesOk && !(current & Status.FeaturesOk) && !this.featuresAcceptable()) {
      next &= ~Status.FeaturesOk;
    }
    if (next & Status.DriverOk && !(next & Status.FeaturesOk)) next &= ~Status.DriverOk;
    this.set(Slot.Status, next);
    if (next & Status.DriverOk && !(current & Status.DriverOk)) {
      const queues = this.readyQueues();
      const features = this.driverFeatures();
      return () => this.events.activate(queues, features);
    }
    return undefined;
  }

  /** Only offered features, and VERSION_1 (this is a modern-only device). */
  private featuresAcceptable(): boolean {
    const accepted = this.driverFeatures();
    return (accepted & ~this.features) === 0n && (accepted & (1n << BigInt(VIRTIO_F_VERSION_1))) !== 0n;
  }

  private writeQueueReady(value: number): (() => void) | undefined {
    if (!this.selectedQueueExists()) return undefined;
    const slot = this.queueSlot(QueueSlot.Ready);
    if (value === 0) {
      this.set(slot, 0);
      return undefined;
    }
    const layout = this.layoutOf(this.get(Slot.QueueSel));
    try {
      if (!isValidQueueSize(layout.size) || layout.size > (this.info.queueSizes[this.get(Slot.QueueSel)] ?? 0)) {
        throw new Error(`queue size ${layout.size} is not a power of 2 up to QueueNumMax`);
      }
      this.events.validateQueue(layout);
      this.set(slot, 1);
    } catch (error) {
      this.set(Slot.Status, this.get(Slot.Status) | Status.NeedsReset);
      this.set(Slot.RingsRefused, this.get(Slot.RingsRefused) + 1);
      const reason = errorMessage(error);
      return () => this.refusalLog.warn(`virtio device ${this.info.deviceId}: queue refused: ${reason}; the device needs a reset`);
    }
    return undefined;
  }

  private writeQueueRegister(offset: number, value: number): undefined {
    const slots: Record<number, QueueSlot> = {
      [Register.QueueNum]: QueueSlot.Num,
      [Register.QueueDescLow]: QueueSlot.DescLow, [Register.QueueDescHigh]: QueueSlot.DescHigh,
      [Register.QueueDriverLow]: QueueSlot.DriverLow, [Register.QueueDriverHigh]: QueueSlot.DriverHigh,
      [Register.QueueDeviceLow]: QueueSlot.DeviceLow, [Register.QueueDeviceHigh]: QueueSlot.DeviceHigh,
    };
    const slot = slots[offset];
    // Queue registers may change only while the selected queue is not live.
    if (slot === undefined || !this.selectedQueueExists() || this.get(this.queueSlot(QueueSlot.Ready))) return undefined;
    this.set(this.queueSlot(slot), value | 0);
    return undefined;
  }

  private layoutOf(queue: number): QueueLayout {
    const base = Slot.Global + queue * QueueSlot.Size;
    const address = (low: QueueSlot, high: QueueSlot): number =>
      (this.get(base + high) >>> 0) * 2 ** 32 + (this.get(base + low) >>> 0);
    return {
      size: this.get(base + QueueSlot.Num),
      descriptorTable: address(QueueSlot.DescLow, QueueSlot.DescHigh),
      availableRing: address(QueueSlot.DriverLow, QueueSlot.DriverHigh),
      usedRing: address(QueueSlot.DeviceLow, QueueSlot.DeviceHigh),
      eventIndex: (this.driverFeatures() & (1n << BigInt(VIRTIO_F_RING_EVENT_IDX))) !== 0n,
    };
  }

  /** What the driver activated, when the device is live (a snapshot's restore starts it again from this). */
  activation(): { queues: Array<QueueLayout | undefined>; features: bigint } | undefined {
    return this.locked(() => {
      const status = this.get(Slot.Status);
      if (!(status & Status.DriverOk) || status & Status.NeedsReset) return undefined;
      return { queues: this.readyQueues(), features: this.driverFeatures() };
    });
  }

  private readyQueues(): Array<QueueLayout | undefined> {
    return this.info.queueSizes.map((_, q) =>
      (this.get(Slot.Global + q * QueueSlot.Size + QueueSlot.Ready) ? this.layoutOf(q) : undefined));
  }

  private resetState(): void {
    const kept = [Slot.ConfigGeneration, Slot.RingsRefused].map((slot) => [slot, this.get(slot)] as const);
    for (let slot = 0; slot < STATE_SLOTS; slot++) this.set(slot, 0);
    for (const [slot, value] of kept) this.set(slot, value);
  }
}

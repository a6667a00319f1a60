// A VM: its KVM file descriptor, guest memory, interrupt controllers, the
// state of its devices and one worker thread per vCPU. The owner creates
// it from a VmConfig, starts it, and learns how it ended from `exited`.
import type { Worker } from 'node:worker_threads';
import { loadPayload, type BootEntry } from '../arch/x86_64/boot.js';
import type { GuestConsole } from '../console/guest-console.js';
import type { EmitEvent } from '../events/record.js';
import { COM1_IRQ, GED_GSI, KVM_IDENTITY_MAP_ADDR, KVM_TSS_ADDR } from '../arch/x86_64/layout.js';
import { legacyAcpiEntries, legacyDevicesOf, type LegacyDeviceState, type LegacyName } from '../devices/legacy.js';
import { Serial16550 } from '../devices/serial.js';
import { native } from '../native.js';
import { HostError, SnapshotError } from '../util/errors.js';
import { RateLimitedLog } from '../util/rate-limit.js';
import { log, logSettings, logStartupStep } from '../util/log.js';
import type { NetConfig, VmConfig } from '../config/schema.js';
import type { Kvm } from './kvm.js';
import { GuestMemory } from './memory.js';
import { readBootPayload } from './payload.js';
import { takeVcpuWorker } from './vcpu-pool.js';
import { VirtioMmioHost, type TransportEvent } from '../virtio/mmio-host.js';
import type { VirtioDevice } from '../virtio/device.js';
import { VirtioNet } from '../virtio/net.js';
import { VirtioBlock } from '../virtio/block.js';
import {
  acpiDisabled, announceVirtioDevice, createVirtioDevices, diskBusy, placeVirtioDevices, type VirtioPlacement,
} from './virtio-devices.js';
import type { AcpiInput } from '../arch/x86_64/acpi/index.js';
import { ACPI_RESET_VALUE, AcpiPmPort } from '../devices/acpi-pm.js';
import { MMIO_SIZE } from '../virtio/mmio.js';
import {
  Control, VcpuCommand, type DeviceStates, type VcpuExit, type VcpuInit, type VcpuMessage,
} from './vcpu-control.js';
import { applyVcpuState, captureVcpuState, type VcpuState } from './vcpu-state.js';
import { applyVmState, captureVmState, type KvmVmState } from './vm-state.js';
import type { VirtioTransportState } from '../virtio/mmio-host.js';

/** KVM_PIT_SPEAKER_DUMMY: the in-kernel PIT also answers port 0x61. */
const PIT_SPEAKER_DUMMY = 1;
const KVM_MEM_LOG_DIRTY_PAGES = 1;
const PAGE = 4096;
const PAUSE_TIMEOUT_MS = 10_000;

interface VirtioDevicePlan {
  device: VirtioDevice;
  placement: VirtioPlacement;
}

/** What the ACPI tables describe: the vCPUs, the legacy devices, the virtio devices, the GED and the power registers. */
function acpiInput(config: VmConfig, legacy: LegacyDeviceState[], virtio: VirtioPlacement[]): AcpiInput {
  const cpuCount = config.cpus.boot_vcpus;
  return {
    cpuCount,
    ioapicId: cpuCount, // as in the MP table
    legacy: legacyAcpiEntries(legacy),
    virtio: virtio.map(({ base, gsi }) => ({ base, gsi, size: MMIO_SIZE })),
    gedGsi: GED_GSI,
    ports: {
      sleepControl: AcpiPmPort.SleepControl, sleepStatus: AcpiPmPort.SleepStatus,
      reset: AcpiPmPort.Reset, resetValue: ACPI_RESET_VALUE,
    },
  };
}

/** What a VM uses that outlives it: its console and where its events go. */
export interface VmHostSide {
  serial?: GuestConsole;
  /** The virtio console's host side, when the config has one. */
  console?: GuestConsole;
  emit: EmitEvent;
}

interface VcpuThread {
  worker: Worker;
  handle: number;
  /** The vCPU's fd, for state ioctls while it is parked. */
  fd: number;
  done: Promise<void>;
}

/** Everything of a VM but its memory and config, as a snapshot holds it. */
export interface VmSavedState {
  vcpus: VcpuState[];
  vm: KvmVmState;
  /** The legacy devices' shared registers. */
  legacy: Array<{ name: LegacyName; state: Uint8Array }>;
  virtio: Array<{ id: string; transport: VirtioTransportState }>;
}

/** The VM a restore starts: its saved state, and its guest memory already filled from the snapshot. */
export interface RestoreSource {
  state: VmSavedState;
  memory: GuestMemory;
  /** False on a migration's destination: its source holds the disks' locks until it pauses for good (then `lockDisks()`). */
  lockDisks?: boolean;
}

/** Puts the saved shared registers into the new VM's legacy devices, which must be the same devices. */
function restoreLegacyStates(legacy: LegacyDeviceState[], saved: VmSavedState['legacy']): void {
  const withState = legacy.filter(({ state }) => state !== undefined);
  const names = withState.map(({ name }) => name);
  if (saved.length !== withState.length || saved.some(({ name }, i) => name !== names[i])) {
    throw new SnapshotError(`the snapshot's port devices (${saved.map(({ name }) => name).join(', ')}) are not the config's (${names.join(', ')})`);
  }
  withState.forEach(({ name, state }, i) => {
    const target = new Uint8Array(state as SharedArrayBuffer);
    const bytes = saved[i]?.state ?? new Uint8Array();
    if (bytes.length !== target.length) throw new SnapshotError(`the snapshot's ${name} state has ${bytes.length} bytes, not ${target.length}`);
    target.set(bytes);
  });
}

export class Vm {
  readonly config: VmConfig;
  /** Resolves with the first reason a vCPU stopped; every vCPU is stopped by then. */
  readonly exited: Promise<VcpuExit>;
  private readonly vmFd: number;
  /** Guest RAM; a migration reads it while the guest runs. */
  readonly memory: GuestMemory;
  /** Undefined for a restored VM: its vCPUs get their state from the snapshot. */
  private readonly bootEntry: BootEntry | undefined;
  private readonly control = new Int32Array(new SharedArrayBuffer(Control.Size * 4));
  private readonly devices: DeviceStates;
  private readonly serial: Serial16550 | undefined;
  private readonly virtio: VirtioMmioHost[];
  private vcpus: VcpuThread[] = [];
  private resolveExit!: (exit: VcpuExit) => void;
  /** A guest can report events (pvpanic) in a loop. */
  private readonly guestEventLog = new RateLimitedLog();

  private constructor(
    private readonly kvm: Kvm, config: VmConfig, memory: GuestMemory, bootEntry: BootEntry | undefined, legacy: LegacyDeviceState[],
    virtio: VirtioDevicePlan[], private readonly host: VmHostSide,
  ) {
    this.config = config;
    this.memory = memory;
    this.bootEntry = bootEntry;
    this.exited = new Promise((resolve) => { this.resolveExit = resolve; });
    log.info(`creating VM: ${config.cpus.boot_vcpus} vCPUs, ${config.memory.size / 2 ** 20} MiB`);
    this.vmFd = native.createVm(kvm.fd);
    try {
      native.setTssAddr(this.vmFd, KVM_TSS_ADDR);
      native.setIdentityMapAddr(this.vmFd, KVM_IDENTITY_MAP_ADDR);
      native.createIrqchip(this.vmFd);
      native.createPit2(this.vmFd, PIT_SPEAKER_DUMMY);
      this.registerMemory(0);
    } catch (error) {
      native.close(this.vmFd);
      throw error;
    }
    this.virtio = virtio.map(({ device, placement }) =>
      new VirtioMmioHost(this.vmFd, memory, device, placement.base, placement.gsi));
    this.devices = { virtio: this.virtio.map((host) => host.slot), legacy, serialOutputFd: host.serial?.outputFd };
    // The main thread's own view of COM1, to hand it serial input.
    const serialState = legacy.find(({ name }) => name === 'serial')?.state;
    this.serial = serialState
      ? new Serial16550(serialState, () => {}, (level) => native.irqLine(this.vmFd, COM1_IRQ, level))
      : undefined;
    host.serial?.connectInput((bytes) => this.sendSerialInput(bytes));
  }

  /**
   * Reads the payload and lays it out in fresh guest memory before KVM is
   * touched, so a bad or oversized payload fails without a VM to clean up.
   */
  static async create(kvm: Kvm, config: VmConfig, host: VmHostSide): Promise<Vm> {
    const payload = readBootPayload(config.payload);
    return Vm.build(kvm, config, host, (placements, legacy) => {
      const announce = acpiDisabled(payload.cmdline) ? placements.map(announceVirtioDevice) : [];
      const cmdline = [payload.cmdline, ...announce].filter((part) => part !== '').join(' ');
      const memory = GuestMemory.allocate(config.memory.size);
      try {
        const entry = loadPayload(memory, { ...payload, cmdline }, config.cpus.boot_vcpus, acpiInput(config, legacy, placements));
        return { memory, entry };
      } catch (error) {
        memory.free();
        throw error;
      }
    });
  }

  /**
   * A VM from a snapshot of one made from the same config: its memory is the
   * snapshot's, its devices' and vCPUs' states are put back before any vCPU
   * runs. It starts parked: `start()` resumes the guest where it was. On
   * failure the source's memory is freed.
   */
  static async restore(kvm: Kvm, config: VmConfig, host: VmHostSide, source: RestoreSource): Promise<Vm> {
    let taken = false;
    let vm: Vm;
    try {
      vm = await Vm.build(kvm, config, host, () => {
        taken = true;
        return { memory: source.memory, entry: undefined };
      }, source.state, source.lockDisks);
    } catch (error) {
      if (!taken) source.memory.free();
      throw error;
    }
    try {
      vm.applyState(source.state);
    } catch (error) {
      await vm.destroy();
      throw error;
    }
    return vm;
  }

  private static async build(
    kvm: Kvm, config: VmConfig, host: VmHostSide,
    prepareMemory: (placements: VirtioPlacement[], legacy: LegacyDeviceState[]) => { memory: GuestMemory; entry: BootEntry | undefined },
    saved?: VmSavedState,
    lockDisks = true,
  ): Promise<Vm> {
    const cpuCount = config.cpus.boot_vcpus;
    if (cpuCount > kvm.maxVcpus) throw new HostError(`this host's KVM allows at most ${kvm.maxVcpus} vCPUs`);
    const devices = await createVirtioDevices(config, host.console, lockDisks);
    logStartupStep('virtio devices open');
    let memory: GuestMemory | undefined;
    let vm: Vm;
    try {
      const placements = placeVirtioDevices(devices.length);
      const plan = devices.map((device, i) => ({ device, placement: placements[i] as VirtioPlacement }));
      const legacy = legacyDevicesOf(config);
      if (saved) restoreLegacyStates(legacy, saved.legacy);
      const prepared = prepareMemory(placements, legacy);
      memory = prepared.memory;
      logStartupStep('guest memory and payload ready');
      vm = new Vm(kvm, config, memory, prepared.entry, legacy, plan, host);
      logStartupStep('KVM VM built (memory slots, irqchip, device transports)');
    } catch (error) {
      memory?.free();
      host.console?.disconnectInput();
      await Promise.all(devices.map((device) => device.close()));
      throw error;
    }
    try {
      if (saved) vm.restoreTransports(saved.virtio);
      await vm.spawnVcpus();
      logStartupStep('vCPUs set up');
    } catch (error) {
      await vm.destroy();
      throw error;
    }
    return vm;
  }

  private restoreTransports(saved: VmSavedState['virtio']): void {
    const ids = this.virtio.map((host) => host.device.id);
    if (saved.length !== ids.length || saved.some(({ id }, i) => id !== ids[i])) {
      throw new SnapshotError(`the snapshot's virtio devices (${saved.map(({ id }) => id).join(', ')}) are not the config's (${ids.join(', ')})`);
    }
    saved.forEach(({ transport }, i) => this.virtio[i]?.restoreState(transport));
  }

  private applyState(saved: VmSavedState): void {
    if (saved.vcpus.length !== this.vcpus.length) {
      throw new SnapshotError(`the snapshot has ${saved.vcpus.length} vCPUs; the config ${this.vcpus.length}`);
    }
    this.vcpus.forEach((vcpu, id) => applyVcpuState(vcpu.fd, id, saved.vcpus[id] as VcpuState));
    applyVmState(this.vmFd, saved.vm);
    // After the irqchip's state: setting it would drop an edge sent before.
    this.virtio.forEach((host) => host.resendPendingInterrupt());
  }

  private vcpuInit(vcpuId: number): VcpuInit {
    return {
      vmFd: this.vmFd,
      vcpuId,
      cpuCount: this.config.cpus.boot_vcpus,
      nested: this.config.cpus.nested ?? true,
      mmapSize: this.kvm.vcpuMmapSize,
      supportedCpuid: this.kvm.supportedCpuid,
      msrIndexList: this.kvm.msrIndexList,
      boot: vcpuId === 0 ? this.bootEntry : undefined,
      memory: this.memory.layout,
      control: this.control.buffer as SharedArrayBuffer,
      devices: this.devices,
      log: logSettings(),
      exitLoop: process.env.TSVMM_EXIT_LOOP === 'c' ? 'c' : 'typescript',
    };
  }

  /** Starts every vCPU worker and waits until each has set up its vCPU. */
  private async spawnVcpus(): Promise<void> {
    const ready: Promise<void>[] = [];
    for (let id = 0; id < this.config.cpus.boot_vcpus; id++) {
      const worker = takeVcpuWorker(this.vcpuInit(id));
      const thread: VcpuThread = { worker, handle: 0, fd: -1, done: Promise.resolve() };
      ready.push(new Promise((resolve, reject) => {
        worker.on('message', (message: VcpuMessage) => {
          if (message.type === 'loaded') {
            return;
          } else if (message.type === 'ready') {
            thread.handle = message.handle;
            thread.fd = message.fd;
            resolve();
          } else if (message.type === 'virtio') {
            this.onTransportEvent(message.slot, message.event);
          } else if (message.type === 'guest-event') {
            this.guestEventLog.warn(`vcpu${id}: the guest reported ${message.event} ${JSON.stringify(message.properties)}`);
            this.host.emit('guest', message.event, message.properties);
          } else {
            if (message.exit.kind === 'failure' && thread.handle === 0) reject(new HostError(message.exit.message));
            this.onVcpuExit(message.exit);
          }
        });
        worker.on('error', (error) => {
          reject(error);
          this.onVcpuExit({ kind: 'failure', message: `vcpu${id} worker crashed: ${error.message}` });
        });
      }));
      thread.done = new Promise((resolve) => worker.once('exit', () => resolve()));
      this.vcpus.push(thread);
    }
    await Promise.all(ready);
  }

  private onTransportEvent(slot: number, event: TransportEvent): void {
    const host = this.virtio[slot];
    if (!host) return;
    host.onTransportEvent(event);
    this.host.emit('virtio-device', event.type === 'activate' ? 'activated' : 'reset', { id: host.device.id });
  }

  private onVcpuExit(exit: VcpuExit): void {
    if (exit.kind === 'stopped') return;
    log.info(`vCPU exit: ${exit.kind}`);
    this.resolveExit(exit);
    this.stopVcpus();
  }

  private command(command: number): void {
    Atomics.store(this.control, Control.Command, command);
    Atomics.notify(this.control, Control.Command);
  }

  private kickAll(): void {
    for (const vcpu of this.vcpus) if (vcpu.handle) native.kickVcpu(vcpu.handle);
  }

  /** Every vCPU leaves KVM_RUN (or its wait) and its loop for good. */
  private stopVcpus(): void {
    this.command(VcpuCommand.Stop);
    this.kickAll();
  }

  /** Lets every vCPU enter the guest (first start, or after a pause). */
  start(): void {
    this.command(VcpuCommand.Run);
  }

  /** Kicks every vCPU out of KVM_RUN and waits until all are parked. */
  async pause(): Promise<void> {
    this.command(VcpuCommand.Pause);
    this.kickAll();
    const deadline = Date.now() + PAUSE_TIMEOUT_MS;
    while (Atomics.load(this.control, Control.Parked) < this.vcpus.length) {
      if (Date.now() > deadline) throw new HostError('vCPUs did not stop within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  /**
   * Saves the state of a paused VM. The virtio devices hand out no buffers
   * and have no request in flight from before the capture until
   * `saveMemory` has finished, so memory and queue indices agree.
   */
  async snapshot<T>(saveMemory: (memory: GuestMemory) => Promise<T>): Promise<{ state: VmSavedState; memory: T }> {
    await Promise.all(this.virtio.map((host) => host.freeze()));
    try {
      const state: VmSavedState = {
        vcpus: this.vcpus.map((vcpu) => captureVcpuState(vcpu.fd, this.kvm.vcpuState)),
        vm: captureVmState(this.vmFd),
        legacy: this.devices.legacy.flatMap(({ name, state: shared }) => (shared ? [{ name, state: new Uint8Array(shared).slice() }] : [])),
        virtio: this.virtio.map((host) => ({ id: host.device.id, transport: host.saveState() })),
      };
      return { state, memory: await saveMemory(this.memory) };
    } finally {
      this.virtio.forEach((host) => host.thaw());
    }
  }

  /** One KVM memory slot per region of guest memory, with `flags`. */
  private registerMemory(flags: number): void {
    this.memory.layout.regions.forEach((region, slot) => {
      native.setUserMemoryRegion(this.vmFd, slot, flags, region.guestAddress, this.memory.layout.memoryId, region.hostOffset, region.size);
    });
  }

  /**
   * Starts recording every page written from now on: by the guest (KVM's
   * dirty log) and by the VMM's devices (GuestMemory's own record).
   */
  startDirtyLog(): void {
    this.registerMemory(KVM_MEM_LOG_DIRTY_PAGES);
    this.memory.trackWrites(true);
  }

  stopDirtyLog(): void {
    this.memory.trackWrites(false);
    this.registerMemory(0);
  }

  /** The pages written since the last call (or the start): one byte per page of the mapping, 1 = written. */
  takeDirtyPages(): Uint8Array {
    const pages = this.memory.takeWrittenPages();
    this.memory.layout.regions.forEach((region, slot) => {
      const bitmap = new Uint8Array(Math.ceil(region.size / PAGE / 64) * 8);
      native.getDirtyLog(this.vmFd, slot, bitmap);
      const first = region.hostOffset / PAGE;
      bitmap.forEach((byte, i) => {
        for (let bit = 0; byte !== 0; bit++, byte >>= 1) if (byte & 1) pages[first + i * 8 + bit] = 1;
      });
    });
    return pages;
  }

  /**
   * Takes every writable disk's lock, all or none: a migration's destination
   * does so once its source has let them go.
   */
  lockDisks(): void {
    const taken: VirtioBlock[] = [];
    for (const disk of this.disks()) {
      if (!disk.lockImage()) {
        taken.forEach((held) => held.unlockImage());
        throw diskBusy(disk.id);
      }
      taken.push(disk);
    }
  }

  /** Lets the disks' locks go: a migration's source, paused, before its destination takes them. */
  unlockDisks(): void {
    this.disks().forEach((disk) => disk.unlockImage());
  }

  private disks(): VirtioBlock[] {
    return this.virtio.flatMap(({ device }) => (device instanceof VirtioBlock ? [device] : []));
  }

  /** An edge on the Generic Event Device's GSI: the guest's ACPI notifies its power button. */
  pressPowerButton(): void {
    native.irqLine(this.vmFd, GED_GSI, 1);
    native.irqLine(this.vmFd, GED_GSI, 0);
  }

  /** Every vCPU injects one NMI the next time it leaves KVM_RUN; the kick makes that now. */
  injectNmi(): void {
    Atomics.add(this.control, Control.NmiGeneration, 1);
    this.kickAll();
  }

  /** Stops the vCPUs (if running) and waits for their threads to end. */
  async stop(): Promise<void> {
    this.resolveExit({ kind: 'stopped' });
    this.stopVcpus();
    await Promise.all(this.vcpus.map((vcpu) => vcpu.done));
  }

  /** What each NIC's backend chose (TAP name, bound UDP address), in config order. */
  netResolved(): Array<Partial<NetConfig>> {
    return this.virtio.flatMap(({ device }) => (device instanceof VirtioNet ? [device.resolved()] : []));
  }

  /** Per-device counters, by device id. */
  counters(): Record<string, Record<string, number>> {
    return Object.fromEntries(this.virtio.map((host) => [host.device.id, host.counters()]));
  }

  /** Gives bytes to the guest's serial port; returns how many it took. */
  sendSerialInput(bytes: Uint8Array): number {
    return this.serial ? this.serial.enqueueInput(bytes) : bytes.length;
  }

  /** Releases every resource; the VM cannot be used afterwards. */
  async destroy(): Promise<void> {
    await this.stop();
    await Promise.all(this.virtio.map((host) => host.close()));
    native.close(this.vmFd);
    this.memory.free();
    this.host.serial?.disconnectInput();
    this.host.console?.disconnectInput();
  }
}

// One vCPU, inside its worker thread: KVM_CREATE_VCPU, the architectural
// set-up, and the KVM_RUN loop that dispatches port I/O and MMIO exits to
// the buses. Every exit that cannot continue becomes a VcpuExit.
import { bootRegisters, bootSregs } from '../arch/x86_64/cpu-state.js';
import { decodeCpuid, encodeCpuid, MSR_BACKED_FEATURES, vcpuCpuid } from '../arch/x86_64/cpuid.js';
import { configureLapic } from '../arch/x86_64/lapic.js';
import { bootMsrsFor, encodeMsrs } from '../arch/x86_64/msrs.js';
import {
  decodeRegs, decodeSregs, encodeRegs, encodeSregs, initialFpu, REGS_SIZE, SREGS_SIZE,
} from '../arch/x86_64/registers.js';
import type { Bus } from '../devices/bus.js';
import { EAGAIN, EINTR, native } from '../native.js';
import { log } from '../util/log.js';
import { describeVcpuState } from './vcpu-report.js';
import type { GuestMemory } from './memory.js';
import { BusUnit, dispatchIo, dispatchMmio } from './exit-dispatch.js';
import {
  ExitReason, InternalErrorKind, KvmRunPage, readFailEntry, readInternalError, readSystemEvent, SystemEventType,
} from './kvm-run.js';
import { Control, VcpuCommand, type VcpuExit, type VcpuInit } from './vcpu-control.js';

const LAPIC_SIZE = 1024;

export interface VcpuBuses {
  pio: Bus;
  mmio: Bus;
}

export class Vcpu {
  readonly fd: number;
  private run!: KvmRunPage;
  private handle = 0;
  /** Set by a device during an exit (the i8042 reset line). */
  private pendingExit: VcpuExit | undefined;

  constructor(
    private readonly init: VcpuInit,
    private readonly buses: VcpuBuses,
    private readonly memory: GuestMemory,
  ) {
    if (buses.pio.unit !== BusUnit.Pio || buses.mmio.unit !== BusUnit.Mmio) throw new Error('the exit dispatch needs a bus entry per port and per MMIO page');
    this.fd = native.createVcpu(init.vmFd, init.vcpuId);
  }

  requestExit(exit: VcpuExit): void {
    this.pendingExit ??= exit;
  }

  /** Registers this thread for kicks; returns the handle the VMM kicks. */
  attachThread(): number {
    const registration = native.registerVcpuThread(this.fd, this.init.mmapSize);
    this.run = new KvmRunPage(registration.run);
    this.handle = registration.handle;
    return this.handle;
  }

  detachThread(): void {
    if (this.handle) native.unregisterVcpuThread(this.handle);
    this.handle = 0;
  }

  configure(): void {
    const { init } = this;
    const refusedMsrs = this.probeRefusedMsrs();
    const cpuid = vcpuCpuid(decodeCpuid(init.supportedCpuid), {
      apicId: init.vcpuId, cpuCount: init.cpuCount, refusedMsrs, nested: init.nested,
    });
    native.setCpuid2(this.fd, encodeCpuid(cpuid));
    this.setBootMsrs();
    native.setFpu(this.fd, initialFpu());
    const lapic = new Uint8Array(LAPIC_SIZE);
    native.getLapic(this.fd, lapic);
    configureLapic(lapic);
    native.setLapic(this.fd, lapic);
    if (init.boot) {
      const sregs = new Uint8Array(SREGS_SIZE);
      native.getSregs(this.fd, sregs);
      native.setSregs(this.fd, encodeSregs(bootSregs(init.boot, decodeSregs(sregs))));
      native.setRegs(this.fd, encodeRegs(bootRegisters(init.boot)));
    }
  }

  /** MSRs behind CPUID features that this host's KVM will not read. */
  private probeRefusedMsrs(): Set<number> {
    const refused = new Set<number>();
    for (const { msr } of MSR_BACKED_FEATURES) {
      if (native.getMsrs(this.fd, encodeMsrs([{ index: msr, value: 0n }])) !== 1) {
        log.debug(`vcpu${this.init.vcpuId}: KVM refuses MSR 0x${msr.toString(16)}; hiding its CPUID feature`);
        refused.add(msr);
      }
    }
    return refused;
  }

  private setBootMsrs(): void {
    for (const msr of bootMsrsFor(new Set(this.init.msrIndexList))) {
      if (native.setMsrs(this.fd, encodeMsrs([msr])) !== 1) {
        log.debug(`vcpu${this.init.vcpuId}: KVM refused MSR 0x${msr.index.toString(16)}; skipped`);
      }
    }
  }

  /** Runs until the guest or the VMM ends this vCPU. */
  runLoop(control: Int32Array): VcpuExit {
    // Every VM's control array starts at generation 0: an NMI requested before
    // this thread got here is still delivered.
    let nmiSeen = 0;
    const beforePark = (): void => this.completePendingIo();
    while (obeyCommand(control, beforePark)) {
      const nmi = Atomics.load(control, Control.NmiGeneration);
      if (nmi !== nmiSeen) {
        nmiSeen = nmi;
        native.nmi(this.fd);
      }
      const result = native.run(this.fd);
      if (result === -EINTR || result === -EAGAIN) {
        this.run.immediateExit = 0;
        continue;
      }
      const exit = this.handleExit(this.run.exitReason);
      if (exit) return exit;
    }
    return { kind: 'stopped' };
  }

  /** The exit-cost benchmark's loop: exits are handled in C; commands are still obeyed between kicks. */
  runLoopInC(control: Int32Array): VcpuExit {
    const beforePark = (): void => this.completePendingIo();
    while (obeyCommand(control, beforePark)) {
      const result = native.runExitLoopInC(this.fd, this.run.buffer);
      if (result === -1) {
        this.run.immediateExit = 0;
        continue;
      }
      if (result === 0) return { kind: 'poweroff' };
      if (result > 0) return this.failure(`the guest wrote ${result} to the test exit port`);
      return this.handleExit(-result - 1000) ?? this.failure(`the C exit loop stopped at exit reason ${-result - 1000}`);
    }
    return { kind: 'stopped' };
  }

  /**
   * An exit's port or MMIO read is finished by the next KVM_RUN. Before the
   * vCPU parks (a snapshot may read its state) one KVM_RUN with immediate_exit
   * set finishes it without running the guest, as the KVM API asks.
   */
  private completePendingIo(): void {
    this.run.immediateExit = 1;
    native.run(this.fd);
    this.run.immediateExit = 0;
  }

  private handleExit(reason: number): VcpuExit | undefined {
    switch (reason) {
      case ExitReason.Io:
        dispatchIo(this.run, this.buses.pio);
        return this.pendingExit;
      case ExitReason.Mmio:
        dispatchMmio(this.run, this.buses.mmio);
        return this.pendingExit;
      case ExitReason.Intr:
      case ExitReason.IrqWindowOpen:
        return undefined;
      case ExitReason.Hlt:
        return this.failure('the guest halted the CPU (HLT exit)');
      case ExitReason.Shutdown:
        // A triple fault resets a PC (Linux's last way to reboot is one), as in Cloud Hypervisor.
        return { kind: 'reset', tripleFault: `vcpu${this.init.vcpuId}\n${this.describeState()}` };
      case ExitReason.FailEntry: {
        const { reason: hardwareReason, cpu } = readFailEntry(this.run.view);
        return this.failure(`VM entry failed: hardware reason 0x${hardwareReason.toString(16)} on host CPU ${cpu}`);
      }
      case ExitReason.InternalError: {
        const { suberror, data } = readInternalError(this.run.view);
        const kind = InternalErrorKind[suberror] ?? 'unknown';
        const words = data.map((d) => `0x${d.toString(16)}`).join(' ');
        return this.failure(`KVM internal error: suberror ${suberror} (${kind}); data [${words}]`);
      }
      case ExitReason.SystemEvent:
        return this.systemEvent(readSystemEvent(this.run.view));
      default:
        return this.failure(`unexpected KVM exit reason ${reason}`);
    }
  }

  private systemEvent(type: number): VcpuExit {
    if (type === SystemEventType.Reset) return { kind: 'reset' };
    if (type === SystemEventType.Shutdown) return { kind: 'poweroff' };
    return this.failure(`guest system event ${type === SystemEventType.Crash ? '(crash)' : type}`);
  }

  private failure(what: string): VcpuExit {
    return { kind: 'failure', message: `vcpu${this.init.vcpuId}: ${what}\n${this.describeState()}` };
  }

  private describeState(): string {
    try {
      const regs = new Uint8Array(REGS_SIZE);
      const sregs = new Uint8Array(SREGS_SIZE);
      native.getRegs(this.fd, regs);
      native.getSregs(this.fd, sregs);
      return describeVcpuState(decodeRegs(regs), decodeSregs(sregs), this.memory);
    } catch (error) {
      return `(registers unavailable: ${(error as Error).message})`;
    }
  }
}

/** Parks while the VMM says Pause (after `beforePark`); false once it says Stop, true when the vCPU may run. */
function obeyCommand(control: Int32Array, beforePark: () => void): boolean {
  for (;;) {
    const command = Atomics.load(control, Control.Command);
    if (command === VcpuCommand.Stop) return false;
    if (command !== VcpuCommand.Pause) return true;
    beforePark();
    park(control);
  }
}

function park(control: Int32Array): void {
  Atomics.add(control, Control.Parked, 1);
  Atomics.notify(control, Control.Parked);
  while (Atomics.load(control, Control.Command) === VcpuCommand.Pause) {
    Atomics.wait(control, Control.Command, VcpuCommand.Pause);
  }
  Atomics.sub(control, Control.Parked, 1);
}

// How the VMM and a vCPU worker talk. The worker spends its life inside
// KVM_RUN with its event loop blocked, so commands travel through a shared
// word (read between exits) plus a kick; results travel back as messages.
import type { BootEntry } from '../arch/x86_64/boot.js';
import type { LegacyDeviceState } from '../devices/legacy.js';
import type { LogSettings } from '../util/log.js';
import type { TransportEvent, VirtioMmioSlot } from '../virtio/mmio-host.js';
import type { GuestMemoryLayout } from './memory.js';

export const VcpuCommand = { Wait: 0, Run: 1, Stop: 2, Pause: 3 } as const;

/** Slots of the shared control array. */
export const Control = {
  /** The VcpuCommand every vCPU obeys. */
  Command: 0,
  /** How many vCPUs are parked by Pause. */
  Parked: 1,
  /** Bumped once per NMI request; each vCPU injects when it differs from what it saw. */
  NmiGeneration: 2,
  Size: 3,
} as const;

/** Why a vCPU stopped running guest code. */
export type VcpuExit =
  /** `tripleFault`: the vCPU's state when KVM reported a triple fault, which resets a PC. */
  | { kind: 'reset'; tripleFault?: string }
  | { kind: 'poweroff' }
  | { kind: 'stopped' }
  | { kind: 'failure'; message: string };

export interface DeviceStates {
  virtio: VirtioMmioSlot[];
  /** The port I/O devices this VM has, with their shared state. */
  legacy: LegacyDeviceState[];
  /** Where guest serial output goes; undefined discards it. */
  serialOutputFd?: number;
}

export interface VcpuInit {
  vmFd: number;
  vcpuId: number;
  cpuCount: number;
  /** Whether the guest sees the host CPU's SVM or VMX (Cloud Hypervisor's cpus.nested). */
  nested: boolean;
  mmapSize: number;
  supportedCpuid: Uint8Array;
  msrIndexList: number[];
  /** Present for the boot vCPU only; the others wait for INIT/SIPI (and a restored VM's vCPUs get their state from the snapshot). */
  boot?: BootEntry;
  memory: GuestMemoryLayout;
  /** The Control slots, as an Int32Array shared by all vCPUs of the VM. */
  control: SharedArrayBuffer;
  devices: DeviceStates;
  log: LogSettings;
  /** 'c' runs the exit-cost benchmark's C loop instead of the TypeScript one (TSVMM_EXIT_LOOP=c). */
  exitLoop: 'typescript' | 'c';
}

export type VcpuMessage =
  /** The worker's modules are loaded; it waits for its VcpuInit (src/vm/vcpu-pool.ts). */
  | { type: 'loaded' }
  /** `fd`: the vCPU's file descriptor, for a snapshot's state ioctls while the vCPU is parked. */
  | { type: 'ready'; vcpuId: number; handle: number; fd: number }
  | { type: 'exit'; vcpuId: number; exit: VcpuExit }
  | { type: 'virtio'; slot: number; event: TransportEvent }
  /** A device reported a guest event (a panic through pvpanic). */
  | { type: 'guest-event'; vcpuId: number; event: string; properties: Record<string, string> };

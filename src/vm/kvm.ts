// /dev/kvm: opened once per process, checked for the API version and the
// capabilities tsvmm relies on, with the per-host facts vCPUs need.
import { existsSync } from 'node:fs';
import { isNativeError, native } from '../native.js';
import { HostError } from '../util/errors.js';
import type { VcpuStateSupport } from './vcpu-state.js';

const KVM_API_VERSION = 12;

export const Capability = {
  Irqchip: 0,
  UserMemory: 3,
  SetTssAddr: 4,
  ExtCpuid: 7,
  NrVcpus: 9,
  MpState: 14,
  Irqfd: 32,
  Pit2: 33,
  Ioeventfd: 36,
  SetIdentityMapAddr: 37,
  VcpuEvents: 41,
  DebugRegs: 50,
  Xcrs: 56,
  Xsave2: 208,
  MaxVcpus: 66,
  ImmediateExit: 136,
} as const;

const REQUIRED: ReadonlyArray<keyof typeof Capability> = [
  'Irqchip', 'UserMemory', 'SetTssAddr', 'ExtCpuid', 'MpState', 'Pit2', 'SetIdentityMapAddr',
  'VcpuEvents', 'ImmediateExit',
];

export class Kvm {
  readonly fd: number;
  readonly vcpuMmapSize: number;
  readonly maxVcpus: number;
  readonly supportedCpuid: Uint8Array;
  readonly msrIndexList: number[];
  /** What a snapshot can save of a vCPU beyond the basic structs. */
  readonly vcpuState: VcpuStateSupport;

  private constructor(fd: number) {
    this.fd = fd;
    const version = native.getApiVersion(fd);
    if (version !== KVM_API_VERSION) {
      throw new HostError(`/dev/kvm speaks API version ${version}; tsvmm needs ${KVM_API_VERSION}`);
    }
    const missing = REQUIRED.filter((name) => native.checkExtension(fd, Capability[name]) <= 0);
    if (missing.length > 0) throw new HostError(`KVM lacks capabilities tsvmm needs: ${missing.join(', ')}`);
    this.vcpuMmapSize = native.getVcpuMmapSize(fd);
    this.maxVcpus = native.checkExtension(fd, Capability.MaxVcpus) || native.checkExtension(fd, Capability.NrVcpus);
    this.supportedCpuid = native.getSupportedCpuid(fd);
    this.msrIndexList = native.getMsrIndexList(fd);
    const has = (capability: number): boolean => native.checkExtension(fd, capability) > 0;
    // KVM_CAP_XSAVE2 answers the XSAVE area's size; KVM_GET_XSAVE2 needs it.
    const xsave2Size = native.checkExtension(fd, Capability.Xsave2);
    this.vcpuState = {
      xsaveSize: xsave2Size > 0 ? Math.max(xsave2Size, native.structSizes.kvm_xsave) : 0,
      xcrs: has(Capability.Xcrs), debugRegs: has(Capability.DebugRegs), msrIndexList: this.msrIndexList,
    };
  }

  static open(path = '/dev/kvm'): Kvm {
    try {
      return new Kvm(native.openDevice(path));
    } catch (error) {
      if (isNativeError(error)) {
        const hint = existsSync(path) ? 'check its permissions (are you in the kvm group?)' : 'is KVM enabled on this host?';
        throw new HostError(`cannot open ${path}: ${error.code}; ${hint}`, { cause: error });
      }
      throw error;
    }
  }

  close(): void {
    native.close(this.fd);
  }
}

/** True when this host can run VMs (used by tests to decide whether to skip). */
export function kvmAvailable(path = '/dev/kvm'): boolean {
  try {
    native.close(native.openDevice(path));
    return true;
  } catch {
    return false;
  }
}

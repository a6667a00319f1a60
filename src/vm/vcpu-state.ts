// A vCPU's whole architectural state as KVM holds it, read and written as
// the raw structs (a snapshot restores them on the same kind of host, so
// their bytes need no decoding). Taken from the control loop while the
// vCPU's thread is parked out of KVM_RUN: vCPU ioctls other than KVM_RUN may
// come from any thread.
import { encodeMsrs } from '../arch/x86_64/msrs.js';
import { native } from '../native.js';
import { log } from '../util/log.js';

export interface VcpuState {
  regs: Uint8Array;
  sregs: Uint8Array;
  /** The XSAVE area (KVM_GET_XSAVE2) where the host has it, else kvm_fpu. */
  fpu: { kind: 'xsave' | 'fpu'; bytes: Uint8Array };
  xcrs?: Uint8Array;
  lapic: Uint8Array;
  mpState: Uint8Array;
  events: Uint8Array;
  debugRegs?: Uint8Array;
  /** Every MSR of KVM's save list that this vCPU reads, as [index, value]. */
  msrs: Array<[number, bigint]>;
}

/** What the host's KVM offers for a vCPU's state beyond the basic structs. */
export interface VcpuStateSupport {
  /** KVM_CAP_XSAVE2's XSAVE area size; 0 where KVM has no KVM_GET_XSAVE2 (kvm_fpu is saved instead). */
  xsaveSize: number;
  xcrs: boolean;
  debugRegs: boolean;
  msrIndexList: number[];
}

function read(size: number, ioctl: (out: Uint8Array) => void): Uint8Array {
  const bytes = new Uint8Array(size);
  ioctl(bytes);
  return bytes;
}

function readMsrs(fd: number, indices: number[]): Array<[number, bigint]> {
  const msrs: Array<[number, bigint]> = [];
  for (const index of indices) {
    const entry = encodeMsrs([{ index, value: 0n }]);
    if (native.getMsrs(fd, entry) !== 1) continue;
    msrs.push([index, new DataView(entry.buffer, entry.byteOffset).getBigUint64(8, true)]);
  }
  return msrs;
}

export function captureVcpuState(fd: number, support: VcpuStateSupport): VcpuState {
  const sizes = native.structSizes;
  return {
    regs: read(sizes.kvm_regs, (out) => native.getRegs(fd, out)),
    sregs: read(sizes.kvm_sregs, (out) => native.getSregs(fd, out)),
    fpu: support.xsaveSize > 0
      ? { kind: 'xsave', bytes: read(support.xsaveSize, (out) => native.getXsave2(fd, out)) }
      : { kind: 'fpu', bytes: read(sizes.kvm_fpu, (out) => native.getFpu(fd, out)) },
    xcrs: support.xcrs ? read(sizes.kvm_xcrs, (out) => native.getXcrs(fd, out)) : undefined,
    lapic: read(sizes.kvm_lapic_state, (out) => native.getLapic(fd, out)),
    mpState: read(sizes.kvm_mp_state, (out) => native.getMpState(fd, out)),
    events: read(sizes.kvm_vcpu_events, (out) => native.getVcpuEvents(fd, out)),
    debugRegs: support.debugRegs ? read(sizes.kvm_debugregs, (out) => native.getDebugRegs(fd, out)) : undefined,
    msrs: readMsrs(fd, support.msrIndexList),
  };
}

/**
 * Writes a captured state into a configured vCPU (its CPUID set). The order
 * follows what KVM needs: the LAPIC before the MSRs (the TSC deadline is
 * relative to it), the events last (they may inject into what came before).
 */
export function applyVcpuState(fd: number, vcpuId: number, state: VcpuState): void {
  native.setMpState(fd, state.mpState);
  native.setRegs(fd, state.regs);
  native.setSregs(fd, state.sregs);
  if (state.fpu.kind === 'xsave') native.setXsave(fd, state.fpu.bytes);
  else native.setFpu(fd, state.fpu.bytes);
  if (state.xcrs) native.setXcrs(fd, state.xcrs);
  native.setLapic(fd, state.lapic);
  let refused = 0;
  for (const [index, value] of state.msrs) {
    if (native.setMsrs(fd, encodeMsrs([{ index, value }])) !== 1) refused++;
  }
  if (refused > 0) log.warn(`vcpu${vcpuId}: KVM refused ${refused} of the snapshot's ${state.msrs.length} MSRs`);
  native.setVcpuEvents(fd, state.events);
  if (state.debugRegs) native.setDebugRegs(fd, state.debugRegs);
}

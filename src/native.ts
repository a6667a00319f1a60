// The typed face of the native addon (native/*.cc). Every function is a thin
// wrapper over one syscall or ioctl; failures throw an Error carrying
// `errno`, `code` and `syscall`.
import { createRequire } from 'node:module';

export type Fd = number;

export interface StructSizes {
  kvm_regs: number;
  kvm_sregs: number;
  kvm_fpu: number;
  kvm_lapic_state: number;
  kvm_mp_state: number;
  kvm_vcpu_events: number;
  kvm_cpuid_entry2: number;
  kvm_msr_entry: number;
  kvm_xsave: number;
  kvm_xcrs: number;
  kvm_debugregs: number;
  kvm_irqchip: number;
  kvm_pit_state2: number;
  kvm_clock_data: number;
}

/** An opaque handle from watchFd. */
export type FdWatch = { readonly __brand: 'FdWatch' };

export interface VcpuThreadRegistration {
  handle: number;
  run: ArrayBuffer;
}

export interface NativeAddon {
  openDevice(path: string): Fd;
  close(fd: Fd): void;
  getApiVersion(kvmFd: Fd): number;
  checkExtension(fd: Fd, capability: number): number;
  getVcpuMmapSize(kvmFd: Fd): number;
  createVm(kvmFd: Fd, type?: number): Fd;
  createVcpu(vmFd: Fd, id: number): Fd;
  setTssAddr(vmFd: Fd, address: number): number;
  setIdentityMapAddr(vmFd: Fd, address: number): void;
  createIrqchip(vmFd: Fd): number;
  nmi(vcpuFd: Fd): number;
  createPit2(vmFd: Fd, flags: number): void;
  irqLine(vmFd: Fd, irq: number, level: number): void;
  setUserMemoryRegion(
    vmFd: Fd, slot: number, flags: number, guestPhysAddr: number,
    memoryId: number, offset: number, size: number,
  ): void;
  /** KVM_GET_DIRTY_LOG: one bit per page of the slot; `bitmap` is ceil(pages / 64) * 8 bytes. */
  getDirtyLog(vmFd: Fd, slot: number, bitmap: Uint8Array): void;
  /** `chip` is a kvm_irqchip whose chip_id (its first u32) says which chip: 0 and 1 the PICs, 2 the IOAPIC. */
  getIrqchip(vmFd: Fd, chip: Uint8Array): void;
  setIrqchip(vmFd: Fd, chip: Uint8Array): void;
  getPit2(vmFd: Fd, out: Uint8Array): void;
  setPit2(vmFd: Fd, state: Uint8Array): void;
  getClock(vmFd: Fd, out: Uint8Array): void;
  setClock(vmFd: Fd, clock: Uint8Array): void;
  getSupportedCpuid(kvmFd: Fd): Uint8Array;
  getMsrIndexList(kvmFd: Fd): number[];

  mapGuestMemory(size: number): number;
  /** Guest memory mapped copy-on-write from a file (a snapshot's memory). */
  mapGuestMemoryFile(fd: Fd, size: number): number;
  /** One byte per 4 KiB page of the range: 1 where the page is not all zero. */
  nonZeroPages(memoryId: number, offset: number, length: number): Uint8Array;
  guestMemoryBuffer(memoryId: number, offset: number, length: number): ArrayBuffer;
  unmapGuestMemory(memoryId: number): void;

  registerVcpuThread(vcpuFd: Fd, mmapSize: number): VcpuThreadRegistration;
  unregisterVcpuThread(handle: number): void;
  kickVcpu(handle: number): boolean;
  run(vcpuFd: Fd): number;
  getRegs(vcpuFd: Fd, out: Uint8Array): void;
  setRegs(vcpuFd: Fd, regs: Uint8Array): void;
  getSregs(vcpuFd: Fd, out: Uint8Array): void;
  setSregs(vcpuFd: Fd, sregs: Uint8Array): void;
  getFpu(vcpuFd: Fd, out: Uint8Array): void;
  setFpu(vcpuFd: Fd, fpu: Uint8Array): void;
  getLapic(vcpuFd: Fd, out: Uint8Array): void;
  setLapic(vcpuFd: Fd, lapic: Uint8Array): void;
  getMpState(vcpuFd: Fd, out: Uint8Array): void;
  setMpState(vcpuFd: Fd, state: Uint8Array): void;
  getVcpuEvents(vcpuFd: Fd, out: Uint8Array): void;
  setVcpuEvents(vcpuFd: Fd, events: Uint8Array): void;
  /** KVM_GET_XSAVE2: `out` is KVM_CAP_XSAVE2's size (at least kvm_xsave's). */
  getXsave2(vcpuFd: Fd, out: Uint8Array): void;
  setXsave(vcpuFd: Fd, xsave: Uint8Array): void;
  getXcrs(vcpuFd: Fd, out: Uint8Array): void;
  setXcrs(vcpuFd: Fd, xcrs: Uint8Array): void;
  getDebugRegs(vcpuFd: Fd, out: Uint8Array): void;
  setDebugRegs(vcpuFd: Fd, debugRegs: Uint8Array): void;
  setCpuid2(vcpuFd: Fd, entries: Uint8Array): void;
  getMsrs(vcpuFd: Fd, entries: Uint8Array): number;
  setMsrs(vcpuFd: Fd, entries: Uint8Array): number;
  structSizes: StructSizes;

  createEventFd(): Fd;
  /** The counter (resetting it), or 0 when nothing was signalled. */
  readEventFd(fd: Fd): number;
  writeEventFd(fd: Fd, value?: number): void;
  /** KVM_IOEVENTFD; flags are KVM_IOEVENTFD_FLAG_* (DATAMATCH 1, PIO 2, DEASSIGN 4). */
  ioeventfd(vmFd: Fd, eventFd: Fd, address: number, length: number, flags: number, datamatch?: number): void;
  /** KVM_IRQFD; flags 1 deassigns. */
  irqfd(vmFd: Fd, eventFd: Fd, gsi: number, flags: number): void;
  /** Calls back on this thread's event loop whenever `fd` is readable. */
  watchFd(fd: Fd, callback: () => void): FdWatch;
  unwatchFd(watch: FdWatch): void;

  /** An exclusive flock on `path` (created 0600): its fd, or -1 when another process holds it. */
  lockFile(path: string): Fd;
  /** An exclusive flock on an open fd; false when another holder has one. */
  tryLockFd(fd: Fd): boolean;
  /** Drops the flock taken by tryLockFd; the fd stays open. */
  unlockFd(fd: Fd): void;
  /** preadv2 with RWF_NOWAIT: bytes read, or -errno (-EAGAIN when it would block). */
  tryPreadv(fd: Fd, buffers: Uint8Array[], position: number): number;
  /** pwritev2 with RWF_NOWAIT: bytes written, or -errno (-EAGAIN when it would block). */
  tryPwritev(fd: Fd, buffers: Uint8Array[], position: number): number;
  /** fallocate(2); mode is FALLOC_FL_* (KEEP_SIZE 1, PUNCH_HOLE 2, ZERO_RANGE 0x10). */
  fallocate(fd: Fd, mode: number, offset: number, length: number): void;

  /** Attaches to TAP interface `name`, or creates one ("" lets the kernel name it); the fd is non-blocking. */
  openTap(name: string): { fd: Fd; name: string };
  /** Sets an IPv4 address and netmask ("" leaves one as is) and brings the interface up. */
  configureInterface(name: string, ip: string, mask: string): void;

  /** A pipe: both ends close-on-exec, the read end non-blocking. */
  pipe(): { read: Fd; write: Fd };
  /** A non-blocking, raw pseudo-terminal master and the path of its slave. */
  openPty(): { fd: Fd; path: string };
  /** Whether poll() reports a hang-up on `fd` now (a pty master without a slave open). */
  hungUp(fd: Fd): boolean;
  /** A non-blocking read (one TAP frame, console bytes): bytes read, -1 when nothing is waiting, 0 at end of file or hang-up. */
  readAvailable(fd: Fd, buffer: Uint8Array): number;

  /**
   * The exit-cost benchmark's run loop in C (COM1 to stdout, the exit port
   * ends it, everything else ignored): the exit port value, -1 when kicked,
   * or -(1000 + exit reason) for an exit it does not handle.
   */
  runExitLoopInC(vcpuFd: Fd, run: ArrayBuffer): number;

  /**
   * The exit-dispatch benchmark's C side (no KVM): dispatches the exit
   * written in `run` `iterations` times to scratch registers at `port` and
   * at the MMIO page `mmioPage`.
   */
  dispatchExitsInC(run: ArrayBuffer, iterations: number, port: number, mmioPage: number): void;

  /** What `run` costs without its KVM_RUN (the exit-dispatch benchmark): 0 for any fd from 0 up. */
  exitStandIn(fd: Fd): number;
}

export interface NativeError extends Error {
  errno: number;
  code: string;
  syscall: string;
}

export function isNativeError(error: unknown): error is NativeError {
  return error instanceof Error && typeof (error as Partial<NativeError>).errno === 'number';
}

const require = createRequire(import.meta.url);
export const native: NativeAddon = require('../../native/build/Release/tsvmm.node') as NativeAddon;

export const EINTR = 4;
export const EAGAIN = 11;

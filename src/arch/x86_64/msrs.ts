// Model-specific registers at boot. Only MSRs that KVM lists are set, one
// at a time, so a host that refuses one (some refuse IA32_ARCH_CAPABILITIES
// or the MTRRs) costs that MSR only.

export const MSR_ENTRY_SIZE = 16;

export interface MsrValue {
  index: number;
  value: bigint;
}

const MSR_IA32_TSC = 0x10;
const MSR_IA32_SYSENTER_CS = 0x174;
const MSR_IA32_SYSENTER_ESP = 0x175;
const MSR_IA32_SYSENTER_EIP = 0x176;
const MSR_IA32_MISC_ENABLE = 0x1a0;
const MSR_MTRR_DEF_TYPE = 0x2ff;
const MSR_STAR = 0xc000_0081;
const MSR_LSTAR = 0xc000_0082;
const MSR_CSTAR = 0xc000_0083;
const MSR_SYSCALL_MASK = 0xc000_0084;
const MSR_KERNEL_GS_BASE = 0xc000_0102;

const MISC_ENABLE_FAST_STRING = 1n;
/** MTRRs enabled, default memory type write-back. */
const MTRR_ENABLE_WRITEBACK = (1n << 11n) | 6n;

export const BOOT_MSRS: readonly MsrValue[] = [
  { index: MSR_IA32_SYSENTER_CS, value: 0n },
  { index: MSR_IA32_SYSENTER_ESP, value: 0n },
  { index: MSR_IA32_SYSENTER_EIP, value: 0n },
  { index: MSR_STAR, value: 0n },
  { index: MSR_CSTAR, value: 0n },
  { index: MSR_KERNEL_GS_BASE, value: 0n },
  { index: MSR_SYSCALL_MASK, value: 0n },
  { index: MSR_LSTAR, value: 0n },
  { index: MSR_IA32_TSC, value: 0n },
  { index: MSR_IA32_MISC_ENABLE, value: MISC_ENABLE_FAST_STRING },
  { index: MSR_MTRR_DEF_TYPE, value: MTRR_ENABLE_WRITEBACK },
];

export function encodeMsrs(msrs: readonly MsrValue[]): Uint8Array {
  const bytes = new Uint8Array(msrs.length * MSR_ENTRY_SIZE);
  const view = new DataView(bytes.buffer);
  msrs.forEach((msr, i) => {
    view.setUint32(i * MSR_ENTRY_SIZE, msr.index, true);
    view.setBigUint64(i * MSR_ENTRY_SIZE + 8, msr.value, true);
  });
  return bytes;
}

export function decodeMsrs(bytes: Uint8Array): MsrValue[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const msrs: MsrValue[] = [];
  for (let offset = 0; offset + MSR_ENTRY_SIZE <= bytes.length; offset += MSR_ENTRY_SIZE) {
    msrs.push({ index: view.getUint32(offset, true), value: view.getBigUint64(offset + 8, true) });
  }
  return msrs;
}

/** The boot MSRs that KVM lists as saveable; the rest are skipped. */
export function bootMsrsFor(supported: ReadonlySet<number>): MsrValue[] {
  return BOOT_MSRS.filter((msr) => supported.has(msr.index));
}

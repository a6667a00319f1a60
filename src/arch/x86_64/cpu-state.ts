// The boot vCPU's registers at the kernel entry point, for each protocol.
import type { BootEntry } from './boot.js';
import { CODE32_SELECTOR, CODE64_SELECTOR, DATA_SELECTOR, GDT_DESCRIPTORS, segmentFor, TSS_SELECTOR } from './gdt.js';
import { BOOT_STACK_TOP, GDT_ADDR, IDT_ADDR, PML4_ADDR } from './layout.js';
import { emptyRegs, type Regs, type Sregs } from './registers.js';

const CR0_PE = 0x1n;
const CR0_ET = 0x10n;
const CR0_NW = 0x2000_0000n;
const CR0_CD = 0x4000_0000n;
const CR0_PG = 0x8000_0000n;
const CR4_PAE = 0x20n;
const EFER_LME = 0x100n;
const EFER_LMA = 0x400n;
/** Bit 1 of RFLAGS is reserved and always set. */
const RFLAGS_RESERVED = 0x2n;

export function bootRegisters(entry: BootEntry): Regs {
  const regs = emptyRegs();
  regs.rip = BigInt(entry.entry);
  regs.rflags = RFLAGS_RESERVED;
  if (entry.protocol === 'pvh') {
    regs.rbx = BigInt(entry.bootInfoAddress);
  } else {
    regs.rsi = BigInt(entry.bootInfoAddress);
    regs.rsp = BigInt(BOOT_STACK_TOP);
    regs.rbp = BigInt(BOOT_STACK_TOP);
  }
  return regs;
}

/** Starts from KVM's reset state (`base`) and sets segments, tables and modes. */
export function bootSregs(entry: BootEntry, base: Sregs): Sregs {
  const data = segmentFor(DATA_SELECTOR);
  const long = entry.protocol === 'linux64';
  const sregs: Sregs = {
    ...base,
    cs: segmentFor(long ? CODE64_SELECTOR : CODE32_SELECTOR),
    ds: data,
    es: data,
    fs: data,
    gs: data,
    ss: data,
    tr: segmentFor(TSS_SELECTOR),
    gdt: { base: BigInt(GDT_ADDR), limit: GDT_DESCRIPTORS.length * 8 - 1 },
    idt: { base: BigInt(IDT_ADDR), limit: 7 },
    // Caches on (CD and NW clear), as firmware leaves them for a kernel.
    cr0: (base.cr0 & ~(CR0_PG | CR0_CD | CR0_NW)) | CR0_PE | CR0_ET,
    cr4: 0n,
    efer: 0n,
  };
  if (long) {
    sregs.cr3 = BigInt(PML4_ADDR);
    sregs.cr4 = CR4_PAE;
    sregs.cr0 |= CR0_PG;
    sregs.efer = EFER_LME | EFER_LMA;
  }
  return sregs;
}

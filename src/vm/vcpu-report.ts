// A readable account of a vCPU that stopped unexpectedly: mode, key
// registers and the instruction bytes at RIP (read through the guest's
// page tables, which may be garbage and are checked like any guest data).
import { translateLongMode } from '../arch/x86_64/paging.js';
import type { Regs, Sregs } from '../arch/x86_64/registers.js';
import type { GuestMemory } from './memory.js';

const CR0_PE = 1n;
const CR0_PG = 0x8000_0000n;
const EFER_LMA = 0x400n;
const INSTRUCTION_BYTES = 16;

const hex = (value: bigint | number): string => `0x${value.toString(16)}`;

function cpuMode(sregs: Sregs): string {
  if ((sregs.efer & EFER_LMA) !== 0n) return sregs.cs.l ? '64-bit long mode' : 'compatibility mode';
  if ((sregs.cr0 & CR0_PE) === 0n) return 'real mode';
  return (sregs.cr0 & CR0_PG) !== 0n ? '32-bit protected mode, paging' : '32-bit protected mode';
}

function ripPhysical(regs: Regs, sregs: Sregs, memory: GuestMemory): number | undefined {
  const longMode = (sregs.efer & EFER_LMA) !== 0n;
  const linear = longMode && sregs.cs.l ? regs.rip : (sregs.cs.base + regs.rip) & 0xffff_ffffn;
  if ((sregs.cr0 & CR0_PG) === 0n) return Number(linear);
  if (longMode) return translateLongMode(memory, sregs.cr3, linear);
  return undefined;
}

function instructionBytes(regs: Regs, sregs: Sregs, memory: GuestMemory): string {
  const physical = ripPhysical(regs, sregs, memory);
  if (physical === undefined) return 'not mapped';
  const available = [INSTRUCTION_BYTES, 8, 1].find((n) => memory.contains(physical, n));
  if (available === undefined) return `${hex(physical)} is outside guest RAM`;
  const bytes = Array.from(memory.slice(physical, available), (b) => b.toString(16).padStart(2, '0'));
  return `${bytes.join(' ')} (at physical ${hex(physical)})`;
}

export function describeVcpuState(regs: Regs, sregs: Sregs, memory: GuestMemory): string {
  return [
    `  mode: ${cpuMode(sregs)}`,
    `  rip: ${hex(regs.rip)}  rsp: ${hex(regs.rsp)}  rflags: ${hex(regs.rflags)}`,
    `  rax: ${hex(regs.rax)}  rbx: ${hex(regs.rbx)}  rcx: ${hex(regs.rcx)}  rdx: ${hex(regs.rdx)}`,
    `  cs: selector ${hex(sregs.cs.selector)} base ${hex(sregs.cs.base)}  cr0: ${hex(sregs.cr0)}  cr3: ${hex(sregs.cr3)}  cr4: ${hex(sregs.cr4)}  efer: ${hex(sregs.efer)}`,
    `  instruction bytes: ${instructionBytes(regs, sregs, memory)}`,
  ].join('\n');
}

// Identity-mapped page tables for the 64-bit entry (the first GiB in 2 MiB
// pages), and a page-table walker for turning a guest RIP into a physical
// address when reporting a failure.
import type { GuestMemory } from '../../vm/memory.js';
import { PD_ADDR, PDPT_ADDR, PML4_ADDR } from './layout.js';

const PRESENT = 1n;
const WRITABLE = 2n;
const HUGE = 0x80n;
const ADDRESS_MASK = 0x000f_ffff_ffff_f000n;

export function writeIdentityPageTables(memory: GuestMemory): void {
  memory.writeU64(PML4_ADDR, BigInt(PDPT_ADDR) | PRESENT | WRITABLE);
  memory.writeU64(PDPT_ADDR, BigInt(PD_ADDR) | PRESENT | WRITABLE);
  for (let i = 0; i < 512; i++) {
    memory.writeU64(PD_ADDR + i * 8, (BigInt(i) << 21n) | PRESENT | WRITABLE | HUGE);
  }
}

/**
 * Translates a 4-level-paging linear address; returns undefined for a
 * non-present mapping or a table outside guest RAM (the tables are guest
 * data and may be garbage).
 */
export function translateLongMode(memory: GuestMemory, cr3: bigint, linear: bigint): number | undefined {
  let table = cr3 & ADDRESS_MASK;
  for (let level = 3; level >= 0; level--) {
    const index = (linear >> BigInt(12 + level * 9)) & 0x1ffn;
    const entryAddress = Number(table + index * 8n);
    if (!memory.contains(entryAddress, 8)) return undefined;
    const entry = memory.readU64(entryAddress);
    if ((entry & PRESENT) === 0n) return undefined;
    const pageBits = BigInt(12 + level * 9);
    if (level === 0 || (level <= 2 && (entry & HUGE) !== 0n)) {
      const pageMask = (1n << pageBits) - 1n;
      return Number(((entry & ADDRESS_MASK) & ~pageMask) | (linear & pageMask));
    }
    table = entry & ADDRESS_MASK;
  }
  return undefined;
}

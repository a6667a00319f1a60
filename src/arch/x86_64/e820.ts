// The guest's physical memory map, as e820 entries (zero page) and as the
// PVH memory map: RAM below the EBDA, RAM from 1 MiB to the MMIO gap, and
// RAM above 4 GiB.
import type { GuestMemory } from '../../vm/memory.js';
import { EBDA_START, HIMEM_START } from './layout.js';

export const E820_RAM = 1;
export const E820_RESERVED = 2;

export interface E820Entry {
  address: number;
  size: number;
  type: number;
}

export function e820Map(memory: GuestMemory): E820Entry[] {
  const entries: E820Entry[] = [{ address: 0, size: EBDA_START, type: E820_RAM }];
  for (const region of memory.layout.regions) {
    const start = Math.max(region.guestAddress, HIMEM_START);
    const end = region.guestAddress + region.size;
    if (end <= start) continue;
    const last = entries[entries.length - 1];
    if (last && last.address + last.size === start && last.type === E820_RAM && start !== HIMEM_START) {
      last.size += end - start;
    } else {
      entries.push({ address: start, size: end - start, type: E820_RAM });
    }
  }
  return entries;
}

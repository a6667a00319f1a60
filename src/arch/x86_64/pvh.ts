// struct hvm_start_info (version 1) and its tables, for the PVH entry.
import type { E820Entry } from './e820.js';

export const HVM_START_MAGIC = 0x336ec578;
export const START_INFO_SIZE = 56;
const MEMMAP_ENTRY_SIZE = 24;
const MODLIST_ENTRY_SIZE = 32;

export interface StartInfoInput {
  cmdlineAddress: number;
  memmapAddress: number;
  memmap: E820Entry[];
  modlistAddress: number;
  initramfs?: { address: number; size: number };
  rsdpAddress?: number;
}

export interface StartInfoTables {
  startInfo: Uint8Array;
  memmap: Uint8Array;
  modlist: Uint8Array;
}

export function buildStartInfo(input: StartInfoInput): StartInfoTables {
  const startInfo = new Uint8Array(START_INFO_SIZE);
  const info = new DataView(startInfo.buffer);
  info.setUint32(0, HVM_START_MAGIC, true);
  info.setUint32(4, 1, true);
  info.setUint32(12, input.initramfs ? 1 : 0, true);
  info.setBigUint64(16, input.initramfs ? BigInt(input.modlistAddress) : 0n, true);
  info.setBigUint64(24, BigInt(input.cmdlineAddress), true);
  info.setBigUint64(32, BigInt(input.rsdpAddress ?? 0), true);
  info.setBigUint64(40, BigInt(input.memmapAddress), true);
  info.setUint32(48, input.memmap.length, true);

  const memmap = new Uint8Array(input.memmap.length * MEMMAP_ENTRY_SIZE);
  const map = new DataView(memmap.buffer);
  input.memmap.forEach((entry, i) => {
    map.setBigUint64(i * MEMMAP_ENTRY_SIZE, BigInt(entry.address), true);
    map.setBigUint64(i * MEMMAP_ENTRY_SIZE + 8, BigInt(entry.size), true);
    map.setUint32(i * MEMMAP_ENTRY_SIZE + 16, entry.type, true);
  });

  const modlist = new Uint8Array(input.initramfs ? MODLIST_ENTRY_SIZE : 0);
  if (input.initramfs) {
    const mod = new DataView(modlist.buffer);
    mod.setBigUint64(0, BigInt(input.initramfs.address), true);
    mod.setBigUint64(8, BigInt(input.initramfs.size), true);
  }
  return { startInfo, memmap, modlist };
}

// The zero page (struct boot_params) for the Linux 64-bit boot protocol.
import type { E820Entry } from './e820.js';
import { SETUP_HEADER_OFFSET } from './bzimage.js';

export const ZERO_PAGE_SIZE = 4096;
const E820_ENTRIES = 0x1e8;
const E820_TABLE = 0x2d0;
export const E820_MAX_ENTRIES = 128;
const TYPE_OF_LOADER = 0x210;
const RAMDISK_IMAGE = 0x218;
const RAMDISK_SIZE = 0x21c;
const CMD_LINE_PTR = 0x228;
const EXT_RAMDISK_IMAGE = 0x0c0;
const EXT_RAMDISK_SIZE = 0x0c4;
const EXT_CMD_LINE_PTR = 0x0c8;
/** boot_params.acpi_rsdp_addr (boot protocol 2.14); older kernels scan for the RSDP. */
const ACPI_RSDP_ADDR = 0x070;
/** "Undefined" boot loader ID: we have no registered one. */
const LOADER_UNDEFINED = 0xff;

export interface ZeroPageInput {
  headerBytes: Uint8Array;
  cmdlineAddress: number;
  initramfs?: { address: number; size: number };
  e820: E820Entry[];
  rsdpAddress?: number;
}

export function buildZeroPage(input: ZeroPageInput): Uint8Array {
  const page = new Uint8Array(ZERO_PAGE_SIZE);
  const view = new DataView(page.buffer);
  page.set(input.headerBytes, SETUP_HEADER_OFFSET);
  view.setUint8(TYPE_OF_LOADER, LOADER_UNDEFINED);
  if (input.rsdpAddress !== undefined) view.setBigUint64(ACPI_RSDP_ADDR, BigInt(input.rsdpAddress), true);
  const split = (value: number): [number, number] => [value >>> 0, Math.floor(value / 2 ** 32)];
  const [cmdLow, cmdHigh] = split(input.cmdlineAddress);
  view.setUint32(CMD_LINE_PTR, cmdLow, true);
  view.setUint32(EXT_CMD_LINE_PTR, cmdHigh, true);
  if (input.initramfs) {
    const [imageLow, imageHigh] = split(input.initramfs.address);
    const [sizeLow, sizeHigh] = split(input.initramfs.size);
    view.setUint32(RAMDISK_IMAGE, imageLow, true);
    view.setUint32(EXT_RAMDISK_IMAGE, imageHigh, true);
    view.setUint32(RAMDISK_SIZE, sizeLow, true);
    view.setUint32(EXT_RAMDISK_SIZE, sizeHigh, true);
  }
  const entries = input.e820.slice(0, E820_MAX_ENTRIES);
  view.setUint8(E820_ENTRIES, entries.length);
  entries.forEach((entry, i) => {
    const offset = E820_TABLE + i * 20;
    view.setBigUint64(offset, BigInt(entry.address), true);
    view.setBigUint64(offset + 8, BigInt(entry.size), true);
    view.setUint32(offset + 16, entry.type, true);
  });
  return page;
}

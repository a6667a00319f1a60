// Puts a kernel, its initramfs and command line into guest memory with the
// tables the chosen entry protocol needs, and says where to start.
import { PayloadError } from '../../util/errors.js';
import type { GuestMemory } from '../../vm/memory.js';
import { looksLikeBzImage, parseBzImage, type BzImage } from './bzimage.js';
import { e820Map } from './e820.js';
import { looksLikeElf, parsePvhElf, type PvhElf } from './elf.js';
import { gdtBytes } from './gdt.js';
import {
  CMDLINE_ADDR, CMDLINE_MAX, GDT_ADDR, HIMEM_START, IDT_ADDR, MPTABLE_ADDR, PVH_INFO_ADDR,
  PVH_MEMMAP_ADDR, PVH_MODLIST_ADDR, ZERO_PAGE_ADDR,
} from './layout.js';
import { buildAcpiTables, type AcpiInput, type PlacedTable } from './acpi/index.js';
import { buildMpTable } from './mptable.js';
import { writeIdentityPageTables } from './paging.js';
import { buildStartInfo } from './pvh.js';
import { RESET_VECTOR_ADDR, resetVectorCode } from './reset-vector.js';
import { buildZeroPage } from './zero-page.js';

export type KernelImage = PvhElf | BzImage;

export interface BootPayload {
  kernel: KernelImage;
  initramfs?: Uint8Array;
  cmdline: string;
}

export interface BootEntry {
  /** 'pvh': 32-bit protected mode, EBX = start info; 'linux64': long mode, RSI = zero page. */
  protocol: 'pvh' | 'linux64';
  entry: number;
  bootInfoAddress: number;
}

const PAGE = 4096;

/** Recognises the kernel format; throws PayloadError saying why one cannot boot. */
export function parseKernel(file: Uint8Array): KernelImage {
  if (looksLikeElf(file)) return parsePvhElf(file);
  if (looksLikeBzImage(file)) return parseBzImage(file);
  throw new PayloadError('kernel is neither an ELF vmlinux nor a bzImage (no ELF magic, no "HdrS" setup header)');
}

function loadKernelImage(memory: GuestMemory, kernel: KernelImage): number {
  if (kernel.kind === 'bzimage') {
    const end = HIMEM_START + Math.max(kernel.kernel.length, kernel.header.initSize);
    if (end > memory.lowMemoryEnd) {
      throw new PayloadError(`kernel needs ${Math.ceil(end / 2 ** 20)} MiB of low memory; give the VM more memory`);
    }
    memory.write(HIMEM_START, kernel.kernel);
    return end;
  }
  let end = 0;
  for (const segment of kernel.segments) {
    const { physicalAddress: address, memorySize } = segment;
    if (address < HIMEM_START || !memory.contains(address, memorySize)) {
      throw new PayloadError(`ELF segment at 0x${address.toString(16)} (+0x${memorySize.toString(16)}) does not fit in guest RAM above 1 MiB`);
    }
    memory.write(address, segment.data);
    memory.slice(address + segment.data.length, memorySize - segment.data.length).fill(0);
    end = Math.max(end, address + memorySize);
  }
  return end;
}

function cmdlineLimit(kernel: KernelImage): number {
  if (kernel.kind === 'bzimage') return Math.min(kernel.header.cmdlineSize, CMDLINE_MAX - 1);
  return CMDLINE_MAX - 1;
}

function writeCmdline(memory: GuestMemory, kernel: KernelImage, cmdline: string): void {
  const bytes = new TextEncoder().encode(cmdline);
  if (bytes.includes(0)) throw new PayloadError('kernel command line contains a NUL byte');
  const limit = cmdlineLimit(kernel);
  if (bytes.length > limit) {
    throw new PayloadError(`kernel command line is ${bytes.length} bytes; this kernel accepts at most ${limit}`);
  }
  memory.write(CMDLINE_ADDR, bytes);
  memory.slice(CMDLINE_ADDR + bytes.length, 1)[0] = 0;
}

/** Page-aligned at the top of low RAM, under the kernel's initrd limit. */
function placeInitramfs(memory: GuestMemory, kernel: KernelImage, kernelEnd: number, size: number): number {
  const limit = kernel.kind === 'bzimage' ? kernel.header.initrdAddrMax + 1 : memory.lowMemoryEnd;
  const top = Math.min(memory.lowMemoryEnd, limit);
  const address = Math.floor((top - size) / PAGE) * PAGE;
  if (address < kernelEnd) {
    throw new PayloadError(`initramfs (${Math.ceil(size / 2 ** 20)} MiB) does not fit between the kernel and the top of low memory; give the VM more memory`);
  }
  return address;
}

/** Writes the ACPI tables; returns the RSDP's address. */
function writeAcpiTables(memory: GuestMemory, acpi: AcpiInput): number {
  const tables = buildAcpiTables(acpi);
  for (const { address, bytes } of tables) memory.write(address, bytes);
  return (tables[0] as PlacedTable).address;
}

/**
 * Lays out the payload and the firmware tables: always the MP table (so a
 * guest booted with acpi=off finds its CPUs), and the ACPI tables when given.
 */
export function loadPayload(memory: GuestMemory, payload: BootPayload, cpuCount: number, acpi?: AcpiInput): BootEntry {
  const { kernel } = payload;
  const kernelEnd = loadKernelImage(memory, kernel);
  writeCmdline(memory, kernel, payload.cmdline);
  let initramfs: { address: number; size: number } | undefined;
  if (payload.initramfs) {
    const address = placeInitramfs(memory, kernel, kernelEnd, payload.initramfs.length);
    memory.write(address, payload.initramfs);
    initramfs = { address, size: payload.initramfs.length };
  }
  memory.write(GDT_ADDR, gdtBytes());
  memory.slice(IDT_ADDR, 8).fill(0);
  writeIdentityPageTables(memory);
  memory.write(MPTABLE_ADDR, buildMpTable(cpuCount, MPTABLE_ADDR));
  memory.write(RESET_VECTOR_ADDR, resetVectorCode());
  const rsdpAddress = acpi ? writeAcpiTables(memory, acpi) : undefined;
  const e820 = e820Map(memory);

  if (kernel.kind === 'bzimage') {
    memory.write(ZERO_PAGE_ADDR, buildZeroPage({ headerBytes: kernel.headerBytes, cmdlineAddress: CMDLINE_ADDR, initramfs, e820, rsdpAddress }));
    return { protocol: 'linux64', entry: HIMEM_START + 0x200, bootInfoAddress: ZERO_PAGE_ADDR };
  }
  const tables = buildStartInfo({
    cmdlineAddress: CMDLINE_ADDR,
    memmapAddress: PVH_MEMMAP_ADDR,
    memmap: e820,
    modlistAddress: PVH_MODLIST_ADDR,
    initramfs,
    rsdpAddress,
  });
  memory.write(PVH_INFO_ADDR, tables.startInfo);
  memory.write(PVH_MEMMAP_ADDR, tables.memmap);
  memory.write(PVH_MODLIST_ADDR, tables.modlist);
  return { protocol: 'pvh', entry: kernel.entry, bootInfoAddress: PVH_INFO_ADDR };
}

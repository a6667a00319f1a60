// ELF vmlinux with a PVH entry: the XEN_ELFNOTE_PHYS32_ENTRY note names the
// 32-bit entry point that takes an hvm_start_info (Xen's PVH boot ABI).
import { PayloadError } from '../../util/errors.js';

const ELF_MAGIC = 0x464c457f; // "\x7fELF" little-endian
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const EM_X86_64 = 62;
const PT_LOAD = 1;
const PT_NOTE = 4;
const XEN_ELFNOTE_PHYS32_ENTRY = 18;
const PHDR_SIZE = 56;

export interface ElfSegment {
  physicalAddress: number;
  data: Uint8Array;
  memorySize: number;
}

export interface PvhElf {
  kind: 'elf';
  entry: number;
  segments: ElfSegment[];
}

export function looksLikeElf(file: Uint8Array): boolean {
  return file.length >= 4 && new DataView(file.buffer, file.byteOffset).getUint32(0, true) === ELF_MAGIC;
}

function u64(view: DataView, offset: number, what: string): number {
  const value = view.getBigUint64(offset, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new PayloadError(`ELF ${what} is out of range`);
  return Number(value);
}

/** Reads the notes of one PT_NOTE segment and returns the PVH entry if present. */
function findPvhEntry(view: DataView, start: number, end: number): number | undefined {
  let offset = start;
  while (offset + 12 <= end) {
    const nameSize = view.getUint32(offset, true);
    const descSize = view.getUint32(offset + 4, true);
    const type = view.getUint32(offset + 8, true);
    const nameStart = offset + 12;
    const descStart = nameStart + Math.ceil(nameSize / 4) * 4;
    const next = descStart + Math.ceil(descSize / 4) * 4;
    if (next > end || next <= offset) return undefined;
    const name = new TextDecoder().decode(new Uint8Array(view.buffer, view.byteOffset + nameStart, nameSize));
    if (name.replace(/\0+$/, '') === 'Xen' && type === XEN_ELFNOTE_PHYS32_ENTRY && descSize >= 4) {
      return descSize >= 8 ? Number(view.getBigUint64(descStart, true)) : view.getUint32(descStart, true);
    }
    offset = next;
  }
  return undefined;
}

export function parsePvhElf(file: Uint8Array): PvhElf {
  if (file.length < 64) throw new PayloadError('ELF kernel is too short for an ELF header');
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (view.getUint8(4) !== ELFCLASS64 || view.getUint8(5) !== ELFDATA2LSB) {
    throw new PayloadError('ELF kernel is not a 64-bit little-endian ELF');
  }
  if (view.getUint16(18, true) !== EM_X86_64) throw new PayloadError('ELF kernel is not built for x86_64');
  const phoff = u64(view, 32, 'program header offset');
  const phentsize = view.getUint16(54, true);
  const phnum = view.getUint16(56, true);
  if (phentsize !== PHDR_SIZE || phoff + phnum * PHDR_SIZE > file.length) {
    throw new PayloadError('ELF program headers are outside the file');
  }
  const segments: ElfSegment[] = [];
  let entry: number | undefined;
  for (let i = 0; i < phnum; i++) {
    const base = phoff + i * PHDR_SIZE;
    const type = view.getUint32(base, true);
    const offset = u64(view, base + 8, 'segment offset');
    const fileSize = u64(view, base + 32, 'segment size');
    if (type !== PT_LOAD && type !== PT_NOTE) continue;
    if (offset + fileSize > file.length) throw new PayloadError(`ELF segment ${i} extends past the end of the file`);
    if (type === PT_NOTE) {
      entry ??= findPvhEntry(view, offset, offset + fileSize);
      continue;
    }
    const memorySize = u64(view, base + 40, 'segment memory size');
    if (memorySize < fileSize) throw new PayloadError(`ELF segment ${i} is larger in the file than in memory`);
    segments.push({ physicalAddress: u64(view, base + 24, 'physical address'), data: file.subarray(offset, offset + fileSize), memorySize });
  }
  if (entry === undefined) {
    throw new PayloadError('ELF kernel has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): build it with CONFIG_PVH=y, or boot its bzImage');
  }
  if (segments.length === 0) throw new PayloadError('ELF kernel has no loadable segment');
  return { kind: 'elf', entry, segments };
}

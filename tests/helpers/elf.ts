// Builds tiny ELF64 kernels for tests: PT_LOAD segments of raw machine code
// and, optionally, the PVH entry note.

export interface TestSegment {
  address: number;
  code: Uint8Array;
  /** Memory size; defaults to the code length. */
  memorySize?: number;
}

export interface TestElfOptions {
  segments: TestSegment[];
  /** PVH 32-bit entry; omitted means no note. */
  pvhEntry?: number;
  machine?: number;
}

const EHDR = 64;
const PHDR = 56;

function pvhNote(entry: number): Uint8Array {
  const note = new Uint8Array(12 + 4 + 4);
  const view = new DataView(note.buffer);
  view.setUint32(0, 4, true); // "Xen\0"
  view.setUint32(4, 4, true);
  view.setUint32(8, 18, true); // XEN_ELFNOTE_PHYS32_ENTRY
  note.set([0x58, 0x65, 0x6e, 0], 12);
  view.setUint32(16, entry, true);
  return note;
}

export function buildTestElf(options: TestElfOptions): Uint8Array {
  const note = options.pvhEntry === undefined ? undefined : pvhNote(options.pvhEntry);
  const phnum = options.segments.length + (note ? 1 : 0);
  let dataOffset = EHDR + phnum * PHDR;
  const size = dataOffset + options.segments.reduce((sum, s) => sum + s.code.length, 0) + (note?.length ?? 0);
  const file = new Uint8Array(size);
  const view = new DataView(file.buffer);
  file.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  view.setUint16(16, 2, true); // ET_EXEC
  view.setUint16(18, options.machine ?? 62, true);
  view.setUint32(20, 1, true);
  view.setBigUint64(32, BigInt(EHDR), true);
  view.setUint16(52, EHDR, true);
  view.setUint16(54, PHDR, true);
  view.setUint16(56, phnum, true);
  let ph = EHDR;
  const header = (type: number, offset: number, address: number, fileSize: number, memorySize: number): void => {
    view.setUint32(ph, type, true);
    view.setUint32(ph + 4, 5, true);
    view.setBigUint64(ph + 8, BigInt(offset), true);
    view.setBigUint64(ph + 16, BigInt(address), true);
    view.setBigUint64(ph + 24, BigInt(address), true);
    view.setBigUint64(ph + 32, BigInt(fileSize), true);
    view.setBigUint64(ph + 40, BigInt(memorySize), true);
    ph += PHDR;
  };
  for (const segment of options.segments) {
    header(1, dataOffset, segment.address, segment.code.length, segment.memorySize ?? segment.code.length);
    file.set(segment.code, dataOffset);
    dataOffset += segment.code.length;
  }
  if (note) {
    header(4, dataOffset, 0, note.length, note.length);
    file.set(note, dataOffset);
  }
  return file;
}

/** 32-bit code: `mov eax, 0xd0000000; jmp eax` — a jump into the MMIO gap. */
export const JUMP_INTO_MMIO_GAP = Uint8Array.of(0xb8, 0x00, 0x00, 0x00, 0xd0, 0xff, 0xe0);

/** 32-bit code: `cli; hlt; jmp .-3` — a guest that idles forever without exits. */
export const HALT_FOREVER = Uint8Array.of(0xfa, 0xf4, 0xeb, 0xfd);

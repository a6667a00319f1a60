// Encoders and decoders for the register structs KVM exchanges with us
// (struct kvm_regs, kvm_sregs, kvm_fpu), little-endian as on x86_64.

export const REGS_SIZE = 144;
export const SREGS_SIZE = 312;
export const FPU_SIZE = 416;

const GENERAL_REGISTERS = [
  'rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rsp', 'rbp',
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip', 'rflags',
] as const;

export type GeneralRegister = (typeof GENERAL_REGISTERS)[number];
export type Regs = Record<GeneralRegister, bigint>;

export function emptyRegs(): Regs {
  return Object.fromEntries(GENERAL_REGISTERS.map((name) => [name, 0n])) as Regs;
}

export function encodeRegs(regs: Regs): Uint8Array {
  const bytes = new Uint8Array(REGS_SIZE);
  const view = new DataView(bytes.buffer);
  GENERAL_REGISTERS.forEach((name, i) => view.setBigUint64(i * 8, regs[name], true));
  return bytes;
}

export function decodeRegs(bytes: Uint8Array): Regs {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const regs = emptyRegs();
  GENERAL_REGISTERS.forEach((name, i) => { regs[name] = view.getBigUint64(i * 8, true); });
  return regs;
}

/** struct kvm_segment */
export interface Segment {
  base: bigint;
  limit: number;
  selector: number;
  type: number;
  present: number;
  dpl: number;
  db: number;
  s: number;
  l: number;
  g: number;
  avl: number;
  unusable: number;
}

/** struct kvm_dtable */
export interface DescriptorTable {
  base: bigint;
  limit: number;
}

const SEGMENT_NAMES = ['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'tr', 'ldt'] as const;
type SegmentName = (typeof SEGMENT_NAMES)[number];

export type Sregs = Record<SegmentName, Segment> & {
  gdt: DescriptorTable;
  idt: DescriptorTable;
  cr0: bigint;
  cr2: bigint;
  cr3: bigint;
  cr4: bigint;
  cr8: bigint;
  efer: bigint;
  apicBase: bigint;
  /** kvm_sregs.interrupt_bitmap, kept as raw bytes. */
  interruptBitmap: Uint8Array;
};

const SEGMENT_SIZE = 24;
const GDT_OFFSET = 192;
const IDT_OFFSET = 208;
const CONTROL_OFFSET = 224;
const CONTROL_REGISTERS = ['cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'efer', 'apicBase'] as const;
const BITMAP_OFFSET = 280;

function readSegment(view: DataView, offset: number): Segment {
  return {
    base: view.getBigUint64(offset, true),
    limit: view.getUint32(offset + 8, true),
    selector: view.getUint16(offset + 12, true),
    type: view.getUint8(offset + 14),
    present: view.getUint8(offset + 15),
    dpl: view.getUint8(offset + 16),
    db: view.getUint8(offset + 17),
    s: view.getUint8(offset + 18),
    l: view.getUint8(offset + 19),
    g: view.getUint8(offset + 20),
    avl: view.getUint8(offset + 21),
    unusable: view.getUint8(offset + 22),
  };
}

function writeSegment(view: DataView, offset: number, segment: Segment): void {
  view.setBigUint64(offset, segment.base, true);
  view.setUint32(offset + 8, segment.limit, true);
  view.setUint16(offset + 12, segment.selector, true);
  const bytes = [segment.type, segment.present, segment.dpl, segment.db, segment.s, segment.l, segment.g,
    segment.avl, segment.unusable, 0];
  bytes.forEach((value, i) => view.setUint8(offset + 14 + i, value));
}

export function decodeSregs(bytes: Uint8Array): Sregs {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const segments = Object.fromEntries(
    SEGMENT_NAMES.map((name, i) => [name, readSegment(view, i * SEGMENT_SIZE)]),
  ) as Record<SegmentName, Segment>;
  const table = (offset: number): DescriptorTable => ({
    base: view.getBigUint64(offset, true),
    limit: view.getUint16(offset + 8, true),
  });
  const control = Object.fromEntries(
    CONTROL_REGISTERS.map((name, i) => [name, view.getBigUint64(CONTROL_OFFSET + i * 8, true)]),
  ) as Record<(typeof CONTROL_REGISTERS)[number], bigint>;
  return {
    ...segments,
    gdt: table(GDT_OFFSET),
    idt: table(IDT_OFFSET),
    ...control,
    interruptBitmap: bytes.slice(BITMAP_OFFSET, BITMAP_OFFSET + 32),
  };
}

export function encodeSregs(sregs: Sregs): Uint8Array {
  const bytes = new Uint8Array(SREGS_SIZE);
  const view = new DataView(bytes.buffer);
  SEGMENT_NAMES.forEach((name, i) => writeSegment(view, i * SEGMENT_SIZE, sregs[name]));
  for (const [offset, table] of [[GDT_OFFSET, sregs.gdt], [IDT_OFFSET, sregs.idt]] as const) {
    view.setBigUint64(offset, table.base, true);
    view.setUint16(offset + 8, table.limit, true);
  }
  CONTROL_REGISTERS.forEach((name, i) => view.setBigUint64(CONTROL_OFFSET + i * 8, sregs[name], true));
  bytes.set(sregs.interruptBitmap.subarray(0, 32), BITMAP_OFFSET);
  return bytes;
}

/** x87 and SSE state at power-on: FCW 0x37f, MXCSR 0x1f80. */
export function initialFpu(): Uint8Array {
  const bytes = new Uint8Array(FPU_SIZE);
  const view = new DataView(bytes.buffer);
  view.setUint16(128, 0x37f, true);
  view.setUint32(408, 0x1f80, true);
  return bytes;
}

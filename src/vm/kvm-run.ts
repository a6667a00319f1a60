// Field offsets of the mmap'd struct kvm_run and the exit reasons we handle.

/** The fields of struct kvm_run's head: offsets in the run page. */
export const enum RunHead { ImmediateExit = 1, ExitReason = 8 }
const UNION = 32;

export const ExitReason = {
  Unknown: 0,
  Exception: 1,
  Io: 2,
  Hypercall: 3,
  Debug: 4,
  Hlt: 5,
  Mmio: 6,
  IrqWindowOpen: 7,
  Shutdown: 8,
  FailEntry: 9,
  Intr: 10,
  InternalError: 17,
  SystemEvent: 24,
} as const;

/** struct kvm_run's io.direction. */
export const enum IoDirection { In = 0, Out = 1 }

// The exit union's members are const enums: tsc and esbuild write their
// values in as numbers, so the exit path's bytecode stays small enough for
// V8 to inline it (a property read of a module's object is several bytes).

/** struct kvm_run's io member: offsets in the run page (the union starts at 32). */
export const enum RunIo { Direction = 32, Size = 33, Port = 34, Count = 36, DataOffset = 40 }

/** struct kvm_run's mmio member: the 8 data bytes sit in the run page itself. */
export const enum RunMmio { Address = 32, Data = 40, Length = 48, IsWrite = 52 }

/**
 * The aligned fields above as indexes into the page's Uint16Array and
 * Uint32Array (byte offset / 2 or / 4; a unit test holds them to it), written
 * as numbers because esbuild writes in only an enum member that is one.
 */
export const enum RunIndex {
  ExitReason32 = 2,
  IoPort16 = 17,
  IoCount32 = 9,
  IoDataOffset32 = 10,
  MmioAddress32 = 8,
  MmioData32 = 10,
  MmioLength32 = 12,
}

/**
 * The mmap'd kvm_run page, seen through typed arrays as well as a DataView:
 * the exit path reads its aligned fields by index, which V8 compiles to
 * plain loads. The fields are in the host's byte order, as typed arrays
 * read them (x86_64 only, so little-endian).
 */
export class KvmRunPage {
  readonly view: DataView;
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly u32: Uint32Array;

  constructor(readonly buffer: ArrayBuffer) {
    this.view = new DataView(buffer);
    this.u8 = new Uint8Array(buffer);
    this.u16 = new Uint16Array(buffer, 0, buffer.byteLength >>> 1);
    this.u32 = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
  }

  get exitReason(): number {
    return this.u32[RunIndex.ExitReason32];
  }

  set immediateExit(value: 0 | 1) {
    this.u8[RunHead.ImmediateExit] = value;
  }
}

export const InternalErrorKind: Record<number, string> = {
  1: 'instruction emulation failed',
  2: 'exception while delivering an exception',
  3: 'cannot deliver an event',
  4: 'unexpected exit reason',
};

export interface InternalErrorExit {
  suberror: number;
  data: bigint[];
}

export function readInternalError(run: DataView): InternalErrorExit {
  const suberror = run.getUint32(UNION, true);
  const count = Math.min(run.getUint32(UNION + 4, true), 16);
  const data: bigint[] = [];
  for (let i = 0; i < count; i++) data.push(run.getBigUint64(UNION + 8 + i * 8, true));
  return { suberror, data };
}

export function readFailEntry(run: DataView): { reason: bigint; cpu: number } {
  return { reason: run.getBigUint64(UNION, true), cpu: run.getUint32(UNION + 8, true) };
}

export const SystemEventType = { Shutdown: 1, Reset: 2, Crash: 3 } as const;

export function readSystemEvent(run: DataView): number {
  return run.getUint32(UNION, true);
}

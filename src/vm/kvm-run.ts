// Field offsets of the mmap'd struct kvm_run and the exit reasons we handle.

export const RUN_IMMEDIATE_EXIT = 1;
export const RUN_EXIT_REASON = 8;
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

export const IO_IN = 0;
export const IO_OUT = 1;

/** struct kvm_run's io member: offsets in the run page. */
export const RUN_IO = { direction: UNION, size: UNION + 1, port: UNION + 2, count: UNION + 4, dataOffset: UNION + 8 } as const;

/** struct kvm_run's mmio member: the 8 data bytes sit in the run page itself. */
export const RUN_MMIO = { address: UNION, data: UNION + 8, length: UNION + 16, isWrite: UNION + 20 } as const;

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

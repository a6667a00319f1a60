// The pvpanic device at I/O port 0x505, as QEMU's: reading it tells the
// guest which events it may report (bit 0 panicked, bit 1 crash kernel
// loaded); writing reports them. Linux finds it in the DSDT (QEMU0001)
// and writes on panic. The VMM turns a report into a guest panic event.
import type { BusDevice } from './bus.js';

export const PVPANIC_PORT = 0x505;
export const PVPANIC_PORT_COUNT = 1;
export const PVPANIC_PANICKED = 1;
export const PVPANIC_CRASH_LOADED = 2;
const SUPPORTED = PVPANIC_PANICKED | PVPANIC_CRASH_LOADED;

export type PanicReport = (events: number) => void;

export class PvPanic implements BusDevice {
  constructor(private readonly report: PanicReport) {}

  read(): number {
    return SUPPORTED;
  }

  write(_offset: number, _size: number, value: number): void {
    const events = value & SUPPORTED;
    if (events !== 0) this.report(events);
  }
}

/** The names the guest panic event carries. */
export function panicEventNames(events: number): string {
  const names = [];
  if (events & PVPANIC_PANICKED) names.push('panicked');
  if (events & PVPANIC_CRASH_LOADED) names.push('crash-loaded');
  return names.join(',');
}

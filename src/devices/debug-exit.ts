// The test exit port at 0xf4, as QEMU's isa-debug-exit: a write ends the VM.
// 0 is a clean power-off; any other value is a failure the guest reports
// (the one-shot CLI exits 1 with the value in its message). Test guests use
// it to hand over a result without a shutdown path; no OS writes here.
import type { VcpuExit } from '../vm/vcpu-control.js';
import type { BusDevice } from './bus.js';

export const DEBUG_EXIT_PORT = 0xf4;
export const DEBUG_EXIT_PORT_COUNT = 4;

export class DebugExit implements BusDevice {
  constructor(private readonly end: (exit: VcpuExit) => void) {}

  read(): number {
    return 0xffff_ffff;
  }

  write(_offset: number, _size: number, value: number): void {
    this.end(value === 0
      ? { kind: 'poweroff' }
      : { kind: 'failure', message: `the guest wrote ${value} to the test exit port (0x${DEBUG_EXIT_PORT.toString(16)})` });
  }
}

// The exit path without KVM: what the TypeScript vCPU loop does for one port
// or MMIO exit (read the exit from the kvm_run page, find the device in the
// bus's table, call it, return) against the same work in C, over one kvm_run
// page filled in here. Both sides' devices are scratch registers, so the
// figures are the dispatch itself. A second pair adds what the TypeScript
// loop pays per exit beyond KVM_RUN, the call into the addon (a stand-in
// that does not enter KVM); the C loop has no such crossing. Alternating
// runs, medians, nanoseconds per exit.
import { Bus, type BusDevice } from '../../src/devices/bus.js';
import { native } from '../../src/native.js';
import { dispatchIo, dispatchMmio } from '../../src/vm/exit-dispatch.js';
import { ExitReason, IO_OUT, RUN_EXIT_REASON, RUN_IO, RUN_MMIO } from '../../src/vm/kvm-run.js';
import { median, WORK_DIVISOR } from './stats.js';

export interface DispatchFigures {
  /** ns per exit: TypeScript dispatch alone, C dispatch alone, TypeScript with the call into the addon. */
  typescript_ns: number;
  c_ns: number;
  typescript_with_call_ns: number;
}

export interface ExitDispatchResult {
  port_write: DispatchFigures;
  mmio_write: DispatchFigures;
}

const ITERATIONS = 2_000_000 / WORK_DIVISOR;
const RUNS = 7;
const PORT = 0x80;
const MMIO_PAGE = 0xd0000;
const RUN_PAGE = 4096;
const IO_DATA = 0x100;

class ScratchRegister implements BusDevice {
  private value = 0;
  read(): number {
    return this.value;
  }

  write(_offset: number, _size: number, value: number): void {
    this.value = value;
  }
}

/** Buses with as many devices as a VM's (legacy ports, four virtio devices), the benchmark's last. */
function busesOfAVm(): { pio: Bus; mmio: Bus } {
  const pio = new Bus('pio');
  for (const [port, count] of [[0x3f8, 8], [0x60, 1], [0x64, 1], [0xf4, 1], [0x505, 1], [0xcf8, 8], [0x600, 8]] as const) {
    pio.register(port, count, new ScratchRegister());
  }
  pio.register(PORT, 1, new ScratchRegister());
  const mmio = new Bus('mmio', 4096);
  for (let page = 1; page < 4; page++) mmio.register((MMIO_PAGE + page) * 4096, 4096, new ScratchRegister());
  mmio.register(MMIO_PAGE * 4096, 4096, new ScratchRegister());
  return { pio, mmio };
}

/** A kvm_run page holding a 1-byte port write or a 4-byte MMIO write. */
function runPage(kind: 'port' | 'mmio'): DataView {
  const run = new DataView(new ArrayBuffer(RUN_PAGE));
  if (kind === 'port') {
    run.setUint32(RUN_EXIT_REASON, ExitReason.Io, true);
    run.setUint8(RUN_IO.direction, IO_OUT);
    run.setUint8(RUN_IO.size, 1);
    run.setUint16(RUN_IO.port, PORT, true);
    run.setUint32(RUN_IO.count, 1, true);
    run.setUint32(RUN_IO.dataOffset, IO_DATA, true);
    run.setUint8(IO_DATA, 0x5a);
  } else {
    run.setUint32(RUN_EXIT_REASON, ExitReason.Mmio, true);
    run.setUint32(RUN_MMIO.address, MMIO_PAGE * 4096 + 0x30, true);
    run.setUint32(RUN_MMIO.length, 4, true);
    run.setUint8(RUN_MMIO.isWrite, 1);
    run.setUint32(RUN_MMIO.data, 0x1234_5678, true);
  }
  return run;
}

function nsPerExit(work: () => void): number {
  const started = process.hrtime.bigint();
  work();
  return Number(process.hrtime.bigint() - started) / ITERATIONS;
}

function benchOne(kind: 'port' | 'mmio'): DispatchFigures {
  const run = runPage(kind);
  const { pio, mmio } = busesOfAVm();
  const dispatch = kind === 'port' ? (): void => dispatchIo(run, pio) : (): void => dispatchMmio(run, mmio);
  const typescript = (): void => {
    for (let i = 0; i < ITERATIONS; i++) dispatch();
  };
  const withCall = (): void => {
    for (let i = 0; i < ITERATIONS; i++) {
      native.exitStandIn(0);
      dispatch();
    }
  };
  const c = (): void => native.dispatchExitsInC(run.buffer as ArrayBuffer, ITERATIONS, PORT, MMIO_PAGE);
  // The first rounds let V8 optimise the TypeScript side; they are not counted.
  typescript();
  withCall();
  const samples = { typescript: [] as number[], c: [] as number[], withCall: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    samples.c.push(nsPerExit(c));
    samples.typescript.push(nsPerExit(typescript));
    samples.withCall.push(nsPerExit(withCall));
  }
  const round = (x: number): number => Math.round(x * 10) / 10;
  return { typescript_ns: round(median(samples.typescript)), c_ns: round(median(samples.c)), typescript_with_call_ns: round(median(samples.withCall)) };
}

export function benchExitDispatch(): ExitDispatchResult {
  return { port_write: benchOne('port'), mmio_write: benchOne('mmio') };
}

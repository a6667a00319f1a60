// The exit path without KVM: what the TypeScript vCPU loop does for one port
// or MMIO exit (read the exit from the kvm_run page, find the device in the
// bus's table, call it, return) against the same work in C, over one kvm_run
// page filled in here. Both sides' devices are scratch registers, so the
// figures are the dispatch itself. A second pair adds what the TypeScript
// loop pays per exit beyond KVM_RUN, the call into the addon (a stand-in
// that does not enter KVM); the C loop has no such crossing. As in a vCPU's
// loop, one function takes both kinds of exit and picks the dispatch by the
// exit reason, and V8 has seen both before either is timed. Alternating
// runs, medians, nanoseconds per exit.
import { Bus, type BusDevice } from '../../src/devices/bus.js';
import { native } from '../../src/native.js';
import { BusUnit, dispatchIo, dispatchMmio } from '../../src/vm/exit-dispatch.js';
import { ExitReason, IoDirection, KvmRunPage, RunHead, RunIo, RunMmio } from '../../src/vm/kvm-run.js';
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
  const mmio = new Bus('mmio', BusUnit.Mmio);
  for (let page = 1; page < 4; page++) mmio.register((MMIO_PAGE + page) * 4096, 4096, new ScratchRegister());
  mmio.register(MMIO_PAGE * 4096, 4096, new ScratchRegister());
  return { pio, mmio };
}

/** A kvm_run page holding a 1-byte port write or a 4-byte MMIO write. */
function runPage(kind: 'port' | 'mmio'): KvmRunPage {
  const page = new KvmRunPage(new ArrayBuffer(RUN_PAGE));
  const run = page.view;
  if (kind === 'port') {
    run.setUint32(RunHead.ExitReason, ExitReason.Io, true);
    run.setUint8(RunIo.Direction, IoDirection.Out);
    run.setUint8(RunIo.Size, 1);
    run.setUint16(RunIo.Port, PORT, true);
    run.setUint32(RunIo.Count, 1, true);
    run.setUint32(RunIo.DataOffset, IO_DATA, true);
    run.setUint8(IO_DATA, 0x5a);
  } else {
    run.setUint32(RunHead.ExitReason, ExitReason.Mmio, true);
    run.setUint32(RunMmio.Address, MMIO_PAGE * 4096 + 0x30, true);
    run.setUint32(RunMmio.Length, 4, true);
    run.setUint8(RunMmio.IsWrite, 1);
    run.setUint32(RunMmio.Data, 0x1234_5678, true);
  }
  return page;
}

function nsPerExit(work: () => void): number {
  const started = process.hrtime.bigint();
  work();
  return Number(process.hrtime.bigint() - started) / ITERATIONS;
}

type Buses = ReturnType<typeof busesOfAVm>;

/** As the vCPU loop does (and the C side): the exit reason picks the dispatch. */
function dispatchExit(run: KvmRunPage, buses: Buses): void {
  const reason = run.exitReason;
  if (reason === ExitReason.Io) dispatchIo(run, buses.pio);
  else if (reason === ExitReason.Mmio) dispatchMmio(run, buses.mmio);
}

function dispatchExits(run: KvmRunPage, buses: Buses): void {
  for (let i = 0; i < ITERATIONS; i++) dispatchExit(run, buses);
}

function dispatchExitsWithCall(run: KvmRunPage, buses: Buses): void {
  for (let i = 0; i < ITERATIONS; i++) {
    native.exitStandIn(0);
    dispatchExit(run, buses);
  }
}

const round = (x: number): number => Math.round(x * 10) / 10;

function benchOne(run: KvmRunPage, buses: Buses): DispatchFigures {
  const typescript = (): void => dispatchExits(run, buses);
  const withCall = (): void => dispatchExitsWithCall(run, buses);
  const c = (): void => native.dispatchExitsInC(run.buffer, ITERATIONS, PORT, MMIO_PAGE);
  const samples = { typescript: [] as number[], c: [] as number[], withCall: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    samples.c.push(nsPerExit(c));
    samples.typescript.push(nsPerExit(typescript));
    samples.withCall.push(nsPerExit(withCall));
  }
  return { typescript_ns: round(median(samples.typescript)), c_ns: round(median(samples.c)), typescript_with_call_ns: round(median(samples.withCall)) };
}

export function benchExitDispatch(): ExitDispatchResult {
  const buses = busesOfAVm();
  const port = runPage('port');
  const mmio = runPage('mmio');
  // A vCPU takes both kinds of exit from its first second on, so V8 has seen
  // both before the loop is timed; the warm-up rounds are not counted.
  for (let pass = 0; pass < 3; pass++) {
    for (const run of [port, mmio]) {
      dispatchExits(run, buses);
      dispatchExitsWithCall(run, buses);
    }
  }
  return { port_write: benchOne(port, buses), mmio_write: benchOne(mmio, buses) };
}

// Port I/O and MMIO exits read from a kvm_run page: each field where the
// KVM API puts it, string I/O, reads answered into the page, and an exit
// whose data would lie outside the page handled as nothing.
import t from 'tap';
import { Bus, type BusDevice } from '../../src/devices/bus.js';
import { dispatchIo, dispatchMmio } from '../../src/vm/exit-dispatch.js';
import { IO_IN, IO_OUT, RUN_IO, RUN_MMIO } from '../../src/vm/kvm-run.js';

interface Access { offset: number; size: number; value?: number }

function recorder(accesses: Access[], readValue = 0xa1b2_c3d4): BusDevice {
  return {
    read: (offset, size) => { accesses.push({ offset, size }); return readValue; },
    write: (offset, size, value) => { accesses.push({ offset, size, value }); },
  };
}

function ioExit(direction: number, size: number, port: number, count: number, dataOffset: number, highHalf = 0): DataView {
  const run = new DataView(new ArrayBuffer(4096));
  run.setUint8(RUN_IO.direction, direction);
  run.setUint8(RUN_IO.size, size);
  run.setUint16(RUN_IO.port, port, true);
  run.setUint32(RUN_IO.count, count, true);
  run.setUint32(RUN_IO.dataOffset, dataOffset, true);
  run.setUint32(RUN_IO.dataOffset + 4, highHalf, true);
  return run;
}

t.test('port writes: each item of a string write, with its size', async (t) => {
  const accesses: Access[] = [];
  const pio = new Bus('pio');
  pio.register(0x3f8, 8, recorder(accesses));
  const run = ioExit(IO_OUT, 2, 0x3fa, 3, 0x200);
  [0x1111, 0x2222, 0x3333].forEach((v, i) => run.setUint16(0x200 + 2 * i, v, true));
  dispatchIo(run, pio);
  t.same(accesses, [0x1111, 0x2222, 0x3333].map((value) => ({ offset: 2, size: 2, value })));
});

t.test('port reads: the value lands in the page, cut to the access size', async (t) => {
  const pio = new Bus('pio');
  pio.register(0x60, 1, recorder([], 0x1ff));
  const run = ioExit(IO_IN, 1, 0x60, 2, 0x300);
  dispatchIo(run, pio);
  t.same([run.getUint8(0x300), run.getUint8(0x301), run.getUint8(0x302)], [0xff, 0xff, 0]);
  const unclaimed = ioExit(IO_IN, 4, 0x70, 1, 0x300);
  dispatchIo(unclaimed, pio);
  t.equal(unclaimed.getUint32(0x300, true), 0xffff_ffff, 'a port no device claims reads as all ones');
});

t.test('data outside the page is not touched', async (t) => {
  const accesses: Access[] = [];
  const pio = new Bus('pio');
  pio.register(0x80, 1, recorder(accesses));
  dispatchIo(ioExit(IO_OUT, 4, 0x80, 2, 4092), pio);
  t.equal(accesses.length, 1, 'the item that fits, not the one past the end');
  dispatchIo(ioExit(IO_OUT, 1, 0x80, 1, 0x100, 1), pio);
  t.equal(accesses.length, 1, 'an offset with a high half is nowhere in the page');
});

t.test('MMIO: a 64-bit address, writes of up to 8 bytes in 4-byte parts, reads back into the page', async (t) => {
  const accesses: Access[] = [];
  const mmio = new Bus('mmio', 0x1000);
  mmio.register(0x1_0000_0000, 0x1000, recorder(accesses, 0x8765_4321));
  const run = new DataView(new ArrayBuffer(4096));
  run.setUint32(RUN_MMIO.address, 0x10, true);
  run.setUint32(RUN_MMIO.address + 4, 1, true);
  run.setUint32(RUN_MMIO.length, 8, true);
  run.setUint8(RUN_MMIO.isWrite, 1);
  run.setUint32(RUN_MMIO.data, 0xdead_beef, true);
  run.setUint32(RUN_MMIO.data + 4, 0x0bad_f00d, true);
  dispatchMmio(run, mmio);
  t.same(accesses, [{ offset: 0x10, size: 4, value: 0xdead_beef }, { offset: 0x14, size: 4, value: 0x0bad_f00d }]);
  accesses.length = 0;
  run.setUint8(RUN_MMIO.isWrite, 0);
  run.setUint32(RUN_MMIO.length, 2, true);
  run.setUint32(RUN_MMIO.data, 0, true);
  dispatchMmio(run, mmio);
  t.same(accesses, [{ offset: 0x10, size: 2 }]);
  t.equal(run.getUint32(RUN_MMIO.data, true), 0x4321, 'a 2-byte read writes 2 bytes');
  run.setUint32(RUN_MMIO.length, 0xffff_ffff, true);
  run.setUint8(RUN_MMIO.isWrite, 1);
  accesses.length = 0;
  dispatchMmio(run, mmio);
  t.equal(accesses.length, 2, 'a length beyond 8 is cut to the 8 bytes the page has');
  run.setUint32(RUN_MMIO.length, 0, true);
  accesses.length = 0;
  dispatchMmio(run, mmio);
  t.same(accesses, [], 'a length of 0 reaches no device');
});

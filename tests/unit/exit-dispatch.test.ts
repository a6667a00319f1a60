// Port I/O and MMIO exits read from a kvm_run page: each field where the
// KVM API puts it, string I/O, reads answered into the page, and an exit
// whose data would lie outside the page handled as nothing.
import t from 'tap';
import { Bus, type BusDevice } from '../../src/devices/bus.js';
import { dispatchIo, dispatchMmio } from '../../src/vm/exit-dispatch.js';
import { IoDirection, KvmRunPage, RunHead, RunIndex, RunIo, RunMmio } from '../../src/vm/kvm-run.js';

interface Access { offset: number; size: number; value?: number }

function recorder(accesses: Access[], readValue = 0xa1b2_c3d4): BusDevice {
  return {
    read: (offset, size) => { accesses.push({ offset, size }); return readValue; },
    write: (offset, size, value) => { accesses.push({ offset, size, value }); },
  };
}

function ioExit(direction: number, size: number, port: number, count: number, dataOffset: number, highHalf = 0): KvmRunPage {
  const page = new KvmRunPage(new ArrayBuffer(4096));
  const run = page.view;
  run.setUint8(RunIo.Direction, direction);
  run.setUint8(RunIo.Size, size);
  run.setUint16(RunIo.Port, port, true);
  run.setUint32(RunIo.Count, count, true);
  run.setUint32(RunIo.DataOffset, dataOffset, true);
  run.setUint32(RunIo.DataOffset + 4, highHalf, true);
  return page;
}

t.test('port writes: each item of a string write, with its size', async (t) => {
  const accesses: Access[] = [];
  const pio = new Bus('pio');
  pio.register(0x3f8, 8, recorder(accesses));
  const run = ioExit(IoDirection.Out, 2, 0x3fa, 3, 0x200);
  [0x1111, 0x2222, 0x3333].forEach((v, i) => run.view.setUint16(0x200 + 2 * i, v, true));
  dispatchIo(run, pio);
  t.same(accesses, [0x1111, 0x2222, 0x3333].map((value) => ({ offset: 2, size: 2, value })));
});

t.test('port reads: the value lands in the page, cut to the access size', async (t) => {
  const pio = new Bus('pio');
  pio.register(0x60, 1, recorder([], 0x1ff));
  const run = ioExit(IoDirection.In, 1, 0x60, 2, 0x300);
  dispatchIo(run, pio);
  t.same([run.u8[0x300], run.u8[0x301], run.u8[0x302]], [0xff, 0xff, 0]);
  const unclaimed = ioExit(IoDirection.In, 4, 0x70, 1, 0x300);
  dispatchIo(unclaimed, pio);
  t.equal(unclaimed.view.getUint32(0x300, true), 0xffff_ffff, 'a port no device claims reads as all ones');
});

t.test('data outside the page is not touched', async (t) => {
  const accesses: Access[] = [];
  const pio = new Bus('pio');
  pio.register(0x80, 1, recorder(accesses));
  dispatchIo(ioExit(IoDirection.Out, 4, 0x80, 2, 4092), pio);
  t.equal(accesses.length, 1, 'the item that fits, not the one past the end');
  dispatchIo(ioExit(IoDirection.Out, 1, 0x80, 1, 0x100, 1), pio);
  t.equal(accesses.length, 1, 'an offset with a high half is nowhere in the page');
});

t.test('MMIO: a 64-bit address, writes of up to 8 bytes in 4-byte parts, reads back into the page', async (t) => {
  const accesses: Access[] = [];
  const mmio = new Bus('mmio', 0x1000);
  mmio.register(0x1_0000_0000, 0x1000, recorder(accesses, 0x8765_4321));
  const page = new KvmRunPage(new ArrayBuffer(4096));
  const run = page.view;
  run.setUint32(RunMmio.Address, 0x10, true);
  run.setUint32(RunMmio.Address + 4, 1, true);
  run.setUint32(RunMmio.Length, 8, true);
  run.setUint8(RunMmio.IsWrite, 1);
  run.setUint32(RunMmio.Data, 0xdead_beef, true);
  run.setUint32(RunMmio.Data + 4, 0x0bad_f00d, true);
  dispatchMmio(page, mmio);
  t.same(accesses, [{ offset: 0x10, size: 4, value: 0xdead_beef }, { offset: 0x14, size: 4, value: 0x0bad_f00d }]);
  accesses.length = 0;
  run.setUint8(RunMmio.IsWrite, 0);
  run.setUint32(RunMmio.Length, 2, true);
  run.setUint32(RunMmio.Data, 0, true);
  dispatchMmio(page, mmio);
  t.same(accesses, [{ offset: 0x10, size: 2 }]);
  t.equal(run.getUint32(RunMmio.Data, true), 0x4321, 'a 2-byte read writes 2 bytes');
  run.setUint32(RunMmio.Length, 0xffff_ffff, true);
  run.setUint8(RunMmio.IsWrite, 1);
  accesses.length = 0;
  dispatchMmio(page, mmio);
  t.equal(accesses.length, 2, 'a length beyond 8 is cut to the 8 bytes the page has');
  run.setUint32(RunMmio.Length, 0, true);
  accesses.length = 0;
  dispatchMmio(page, mmio);
  t.same(accesses, [], 'a length of 0 reaches no device');
});

t.test('the short paths: one byte to a port, 4 bytes of MMIO, each way', async (t) => {
  const accesses: Access[] = [];
  const pio = new Bus('pio');
  pio.register(0x70, 2, recorder(accesses, 0x1_2345));
  const out = ioExit(IoDirection.Out, 1, 0x71, 1, 0x200);
  out.u8[0x200] = 0xab;
  dispatchIo(out, pio);
  const into = ioExit(IoDirection.In, 1, 0x70, 1, 0x201);
  dispatchIo(into, pio);
  t.same(accesses, [{ offset: 1, size: 1, value: 0xab }, { offset: 0, size: 1 }]);
  t.same([into.u8[0x200], into.u8[0x201], into.u8[0x202]], [0, 0x45, 0], 'the read lands in its byte, cut to 8 bits, its neighbours untouched');
  dispatchIo(ioExit(IoDirection.Out, 1, 0x70, 1, 4096), pio);
  t.equal(accesses.length, 2, 'a one-byte item just past the page reaches no device');

  accesses.length = 0;
  const mmio = new Bus('mmio', 0x1000);
  mmio.register(0xd000_0000, 0x1000, recorder(accesses, 0xfedc_ba98));
  const page = new KvmRunPage(new ArrayBuffer(4096));
  page.view.setUint32(RunMmio.Address, 0xd000_0070, true);
  page.view.setUint32(RunMmio.Length, 4, true);
  page.view.setUint8(RunMmio.IsWrite, 1);
  page.view.setUint32(RunMmio.Data, 0x8000_0001, true);
  dispatchMmio(page, mmio);
  page.view.setUint8(RunMmio.IsWrite, 0);
  page.view.setUint32(RunMmio.Data + 4, 0x5555_5555, true);
  dispatchMmio(page, mmio);
  t.same(accesses, [{ offset: 0x70, size: 4, value: 0x8000_0001 }, { offset: 0x70, size: 4 }]);
  t.equal(page.view.getUint32(RunMmio.Data, true), 0xfedc_ba98, 'the read lands in the data field');
  t.equal(page.view.getUint32(RunMmio.Data + 4, true), 0x5555_5555, 'and only in its first 4 bytes');
});

t.test('the typed-array indexes of kvm_run name the same bytes as its offsets', async (t) => {
  t.same(
    [RunIndex.ExitReason32 * 4, RunIndex.IoPort16 * 2, RunIndex.IoCount32 * 4, RunIndex.IoDataOffset32 * 4],
    [RunHead.ExitReason, RunIo.Port, RunIo.Count, RunIo.DataOffset],
  );
  t.same(
    [RunIndex.MmioAddress32 * 4, RunIndex.MmioData32 * 4, RunIndex.MmioLength32 * 4],
    [RunMmio.Address, RunMmio.Data, RunMmio.Length],
  );
});

import t from 'tap';
import { Serial16550 } from '../../src/devices/serial.js';

function uart() {
  const output: number[] = [];
  const irq: number[] = [];
  const serial = new Serial16550(Serial16550.createState(), (b) => output.push(b), (level) => irq.push(level));
  const level = (): number => irq[irq.length - 1] ?? 0;
  return { serial, output, irq, level };
}

const THR = 0, IER = 1, IIR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7;

t.test('transmit goes to the output and leaves THR empty', async (t) => {
  const { serial, output } = uart();
  serial.write(THR, 1, 0x41);
  serial.write(THR, 1, 0x42);
  t.same(output, [0x41, 0x42]);
  t.equal(serial.read(LSR, 1) & 0x60, 0x60, 'THRE and TEMT');
});

t.test('divisor latch hides THR and IER while DLAB is set', async (t) => {
  const { serial, output } = uart();
  serial.write(LCR, 1, 0x83);
  serial.write(THR, 1, 0x01);
  serial.write(IER, 1, 0x00);
  t.equal(serial.read(THR, 1), 0x01, 'DLL');
  t.equal(serial.read(IER, 1), 0x00, 'DLM');
  serial.write(LCR, 1, 0x03);
  t.same(output, [], 'nothing transmitted');
  t.equal(serial.read(LCR, 1), 0x03);
});

t.test('THR-empty interrupt: raised on enable, cleared by reading IIR, raised again by a write', async (t) => {
  const { serial, level } = uart();
  t.equal(serial.read(IIR, 1) & 0x0f, 0x01, 'nothing pending');
  serial.write(IER, 1, 0x02);
  t.equal(level(), 1, 'line high');
  t.equal(serial.read(IIR, 1) & 0x0f, 0x02, 'THR empty reported');
  t.equal(level(), 0, 'reading IIR acknowledged it');
  t.equal(serial.read(IIR, 1) & 0x0f, 0x01);
  serial.write(THR, 1, 0x20);
  t.equal(level(), 1, 'transmitting re-arms it');
  serial.write(IER, 1, 0);
  t.equal(level(), 0, 'masked');
});

t.test('receive: data ready, RX interrupt before THR empty, FIFO order', async (t) => {
  const { serial, level } = uart();
  serial.write(IER, 1, 0x03);
  serial.read(IIR, 1);
  t.equal(serial.enqueueInput(Uint8Array.of(0x61, 0x62)), 2);
  t.equal(level(), 1);
  t.equal(serial.read(LSR, 1) & 1, 1, 'data ready');
  t.equal(serial.read(IIR, 1) & 0x0f, 0x04, 'RX data has priority');
  t.equal(serial.read(THR, 1), 0x61);
  t.equal(serial.read(THR, 1), 0x62);
  t.equal(serial.read(LSR, 1) & 1, 0);
  t.equal(serial.read(THR, 1), 0, 'empty FIFO reads 0');
});

t.test('input beyond the buffer is refused, not dropped', async (t) => {
  const { serial } = uart();
  t.equal(serial.enqueueInput(new Uint8Array(5000)), 4096);
  t.equal(serial.enqueueInput(Uint8Array.of(1)), 0);
  serial.read(THR, 1);
  t.equal(serial.enqueueInput(Uint8Array.of(1, 2)), 1);
});

t.test('FIFO control: IIR reports FIFOs enabled; clearing RX drops input', async (t) => {
  const { serial } = uart();
  serial.write(IIR, 1, 0x01);
  t.equal(serial.read(IIR, 1) & 0xc0, 0xc0);
  serial.enqueueInput(Uint8Array.of(1, 2, 3));
  serial.write(IIR, 1, 0x03);
  t.equal(serial.read(LSR, 1) & 1, 0);
});

t.test('loopback: MCR drives MSR and transmit comes back as receive', async (t) => {
  const { serial, output } = uart();
  t.equal(serial.read(MSR, 1), 0xb0, 'carrier, DSR and CTS when not looped');
  serial.write(MCR, 1, 0x10 | 0x0a);
  t.equal(serial.read(MSR, 1) & 0xf0, 0x90, 'RTS and OUT2 appear as CTS and DCD');
  serial.write(THR, 1, 0x55);
  t.same(output, []);
  t.equal(serial.read(THR, 1), 0x55);
});

t.test('scratch register and IER mask', async (t) => {
  const { serial } = uart();
  serial.write(SCR, 1, 0xa5);
  t.equal(serial.read(SCR, 1), 0xa5);
  serial.write(IER, 1, 0xff);
  t.equal(serial.read(IER, 1), 0x0f);
  t.equal(serial.read(9, 1), 0xff, 'offsets past the UART');
});

t.test('two views over one shared state behave as one UART', async (t) => {
  const state = Serial16550.createState();
  const a = new Serial16550(state, () => {}, () => {});
  const b = new Serial16550(state, () => {}, () => {});
  a.write(SCR, 1, 0x11);
  t.equal(b.read(SCR, 1), 0x11);
  b.enqueueInput(Uint8Array.of(9));
  t.equal(a.read(THR, 1), 9);
});

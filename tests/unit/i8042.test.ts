import t from 'tap';
import { I8042 } from '../../src/devices/i8042.js';

function controller() {
  const events: string[] = [];
  const device = new I8042(I8042.createState(), {
    reset: () => events.push('reset'),
    interrupt: (irq) => events.push(`irq${irq}`),
  });
  const command = (value: number): void => device.write(4, 1, value);
  const data = (value: number): void => device.write(0, 1, value);
  const status = (): number => device.read(4, 1);
  const read = (): number => device.read(0, 1);
  return { device, events, command, data, status, read };
}

t.test('self test, port test and the command byte', async (t) => {
  const c = controller();
  t.equal(c.status() & 0x01, 0, 'output buffer empty');
  t.equal(c.status() & 0x10, 0x10, 'keyboard not inhibited');
  c.command(0xaa);
  t.equal(c.status() & 0x01, 1);
  t.equal(c.read(), 0x55);
  c.command(0xab);
  t.equal(c.read(), 0x00);
  c.command(0x20);
  const ctr = c.read();
  c.command(0x60);
  c.data(ctr & ~0x01);
  c.command(0x20);
  t.equal(c.read(), ctr & ~0x01, 'command byte written and read back');
});

t.test('keyboard commands are acknowledged, with an interrupt', async (t) => {
  const c = controller();
  c.data(0xff);
  t.same([c.read(), c.read()], [0xfa, 0xaa]);
  c.data(0xf2);
  t.same([c.read(), c.read(), c.read()], [0xfa, 0xab, 0x83]);
  t.ok(c.events.includes('irq1'));
});

t.test('aux loopback sets the aux data flag', async (t) => {
  const c = controller();
  c.command(0xd3);
  c.data(0x5a);
  t.equal(c.status() & 0x21, 0x21);
  t.equal(c.read(), 0x5a);
  t.equal(c.status() & 0x21, 0);
});

t.test('0xFE on the command port resets the machine', async (t) => {
  const c = controller();
  c.command(0xfe);
  t.same(c.events, ['reset']);
});

t.test('writing the output port with bit 0 clear resets; with it set does not', async (t) => {
  const c = controller();
  c.command(0xd1);
  c.data(0x03);
  t.same(c.events, []);
  c.command(0xd1);
  c.data(0x02);
  t.same(c.events, ['reset']);
});

t.test('the output queue is bounded', async (t) => {
  const c = controller();
  for (let i = 0; i < 100; i++) c.data(0xf4);
  let count = 0;
  while (c.status() & 1) {
    c.read();
    count++;
  }
  t.equal(count, 16);
});

// virtio-console: the transmit queue's bytes reach the host side in order;
// input fills the receive buffers the driver offered and reports what did
// not fit, so the console's input pump offers the rest again later.
import t from 'tap';
import { VirtioConsole } from '../../src/virtio/console.js';
import { chain, FakeQueues } from '../helpers/virtio.js';

t.test('output from the transmit queue, in order, each chain returned with nothing written', async (t) => {
  const out: string[] = [];
  const device = new VirtioConsole('c', (bytes) => out.push(Buffer.from(bytes).toString()));
  const queues = new FakeQueues();
  device.activate(queues);
  queues.offer(1, chain([Buffer.from('hel'), Buffer.from('lo ')], [], 0), chain([Buffer.from('world')], [], 2));
  device.notify(1);
  t.same(out, ['hel', 'lo ', 'world']);
  t.same(queues.completions, [{ queue: 1, head: 0, written: 0 }, { queue: 1, head: 2, written: 0 }]);
  t.match(device.counters(), { tx_bytes: 11 });
});

t.test('input goes into the offered receive buffers; the rest is left for later', async (t) => {
  const device = new VirtioConsole('c', () => {});
  t.equal(device.receive(Buffer.from('early')), 0, 'before the driver is ready nothing is taken');
  const queues = new FakeQueues();
  device.activate(queues);
  const a = new Uint8Array(3);
  const b = new Uint8Array(2);
  queues.offer(0, chain([], [a], 0), chain([], [b], 1));
  device.notify(0);
  t.same(queues.completions, [], 'receive buffers wait for input');
  t.equal(device.receive(Buffer.from('abcdefg')), 5, 'five bytes fit');
  t.equal(Buffer.from(a).toString() + Buffer.from(b).toString(), 'abcde');
  t.same(queues.completions, [{ queue: 0, head: 0, written: 3 }, { queue: 0, head: 1, written: 2 }]);
  t.equal(device.receive(Buffer.from('fg')), 0, 'no buffer left: nothing taken');
  device.reset();
  t.equal(device.receive(Buffer.from('fg')), 0, 'after a reset nothing is taken');
});

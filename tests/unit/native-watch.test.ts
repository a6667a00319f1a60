// native.watchFd calls back into JavaScript from libuv's poll phase. What the
// callback queues (microtasks, process.nextTick) must run as soon as it
// returns, as after any Node.js I/O callback, not after whatever callback
// comes next: virtio interrupts are raised from a microtask and UDP sends
// finish on a nextTick, and a guest that waits for them sends nothing else
// that would let them run later.
import t from 'tap';
import { native } from '../../src/native.js';

t.test('work queued in one watchFd callback runs before the next callback of the same poll', async (t) => {
  const first = native.createEventFd();
  const second = native.createEventFd();
  const order: string[] = [];
  await new Promise<void>((resolve) => {
    const firstWatch = native.watchFd(first, () => {
      native.readEventFd(first);
      native.unwatchFd(firstWatch);
      order.push('first callback');
      queueMicrotask(() => order.push('microtask'));
      process.nextTick(() => order.push('nextTick'));
    });
    const secondWatch = native.watchFd(second, () => {
      native.readEventFd(second);
      native.unwatchFd(secondWatch);
      order.push('second callback');
      resolve();
    });
    // Both readable before the loop polls: libuv reports them in one poll phase.
    native.writeEventFd(first);
    native.writeEventFd(second);
  });
  native.close(first);
  native.close(second);
  t.same(order.slice(0, 3).sort(), ['first callback', 'microtask', 'nextTick']);
  t.equal(order[3], 'second callback');
});

// The buses: dispatch by address, unclaimed accesses, and containment of a
// device that throws on a guest access.
import t from 'tap';
import { Bus, type BusDevice } from '../../src/devices/bus.js';
import { RateLimiter } from '../../src/util/rate-limit.js';

t.test('a device that throws on a guest access is contained: all ones, told, counted', async (t) => {
  const bus = new Bus('mmio');
  const faults: unknown[] = [];
  const broken: BusDevice = {
    read: () => { throw new RangeError('broken read'); },
    write: () => { throw new RangeError('broken write'); },
    fault: (error) => faults.push(error),
  };
  const working: BusDevice = { read: (offset) => offset, write: () => {} };
  bus.register(0x1000, 0x100, broken);
  bus.register(0x2000, 0x100, working);
  t.equal(bus.read(0x1004, 4), 0xffff_ffff);
  t.equal(bus.read(0x1004, 2), 0xffff);
  t.doesNotThrow(() => bus.write(0x1008, 4, 1));
  t.equal(faults.length, 3, 'the device heard of each fault');
  t.equal(bus.faults, 3);
  t.equal(bus.read(0x2010, 4), 0x10, 'the other devices go on');
  t.equal(bus.read(0x3000, 1), 0xff, 'unclaimed reads are all ones');
});

t.test('a fault handler that throws is contained too', async (t) => {
  const bus = new Bus('pio');
  bus.register(0, 8, { read: () => { throw new Error('x'); }, write: () => {}, fault: () => { throw new Error('y'); } });
  t.equal(bus.read(0, 1), 0xff);
});

t.test('rate limiting: a burst per period, then a count of what was held back', async (t) => {
  let now = 0;
  const limiter = new RateLimiter(2, 1000, () => now);
  t.same([limiter.take(), limiter.take(), limiter.take(), limiter.take()].map((r) => r.allowed), [true, true, false, false]);
  now = 1000;
  t.same(limiter.take(), { allowed: true, heldBack: 2 }, 'the next period says how many were not logged');
  t.same(limiter.take(), { allowed: true, heldBack: 0 });
});

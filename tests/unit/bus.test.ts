// The buses: dispatch by address, unclaimed accesses, and containment of a
// device that throws on a guest access.
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Bus, type BusDevice } from '../../src/devices/bus.js';
import { configureLog, logSettings } from '../../src/util/log.js';
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

t.test('the table finds each unit of a range, the last device found never shadows another', async (t) => {
  const bus = new Bus('mmio', 0x1000);
  const seen: string[] = [];
  const device = (name: string): BusDevice => ({ read: (offset) => offset, write: (offset, _size, value) => { seen.push(`${name}+${offset.toString(16)}=${value}`); } });
  bus.register(0xd000_0000, 0x2000, device('a'));
  bus.register(0xd000_3000, 0x1000, device('b'));
  bus.write(0xd000_1ffc, 4, 1);
  bus.write(0xd000_3000, 4, 2);
  bus.write(0xd000_0004, 4, 3);
  bus.write(0xd000_2000, 4, 4);
  t.same(seen, ['a+1ffc=1', 'b+0=2', 'a+4=3'], 'each write reaches its device; the hole between them none');
  t.equal(bus.read(0xd000_2ffc, 4), 0xffff_ffff, 'the hole reads as all ones right after a hit');
  t.equal(bus.read(0x1_d000_0004, 4), 0xffff_ffff, 'an address 4 GiB above a device is not that device');
  t.equal(bus.read(0xd000_3010, 4), 0x10);
});

t.test('a range must be whole units and must not overlap another', async (t) => {
  const bus = new Bus('mmio', 0x1000);
  t.throws(() => bus.register(0xd000_0800, 0x1000, { read: () => 0, write: () => {} }), /not made of whole 4096-byte units/);
  t.throws(() => bus.register(0xd000_0000, 0x800, { read: () => 0, write: () => {} }), /not made of whole/);
  bus.register(0xd000_0000, 0x2000, { read: () => 0, write: () => {} });
  t.throws(() => bus.register(0xd000_1000, 0x1000, { read: () => 0, write: () => {} }), /overlaps one at 0xd0000000/);
  const ports = new Bus('pio');
  ports.register(0x3f8, 8, { read: () => 0, write: () => {} });
  t.throws(() => ports.register(0x3ff, 1, { read: () => 0, write: () => {} }), /overlaps/);
});

t.test('at -vv, unclaimed accesses are logged at a bounded rate: a guest pausing on port 0x80 does not log each exit', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'tsvmm-bus-')), 'log');
  const fd = openSync(path, 'w');
  const before = logSettings();
  configureLog({ level: 'debug', fd });
  try {
    const ports = new Bus('pio');
    for (let i = 0; i < 1000; i++) ports.write(0x80, 1, i & 0xff);
    t.equal(ports.read(0x80, 1), 0xff);
  } finally {
    configureLog(before);
    closeSync(fd);
  }
  const lines = readFileSync(path, 'utf8').split('\n').filter((line) => line.includes('unclaimed'));
  t.ok(lines.length > 0 && lines.length <= 10, `${lines.length} lines for 1001 unclaimed accesses`);
  t.match(lines[0], /pio: unclaimed write of 1 at 0x80: 0x0/);
});

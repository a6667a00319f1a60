// The virtio-mmio transport: the register file (identification, feature
// negotiation in both halves, the status state machine with FEATURES_OK
// checking and reset, queue set-up, config space) and, over the same shared
// state, the device side's signals (interrupts, config generation, NEEDS_RESET).
import fc from 'fast-check';
import t from 'tap';
import { checkProperty } from '../helpers/property.js';
import type { QueueLayout } from '../../src/virtio/queue.js';
import {
  Interrupt, MMIO_MAGIC, Status, VENDOR_ID, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_RING_EVENT_IDX, VIRTIO_F_VERSION_1,
  VirtioMmioRegisters, VirtioMmioSignals,
} from '../../src/virtio/mmio.js';

const R = {
  magic: 0x000, version: 0x004, deviceId: 0x008, vendor: 0x00c, deviceFeatures: 0x010, deviceFeaturesSel: 0x014,
  driverFeatures: 0x020, driverFeaturesSel: 0x024, queueSel: 0x030, queueNumMax: 0x034, queueNum: 0x038,
  queueReady: 0x044, queueNotify: 0x050, interruptStatus: 0x060, interruptAck: 0x064, status: 0x070,
  descLow: 0x080, driverLow: 0x090, deviceLow: 0x0a0, generation: 0x0fc,
};
/** A device-specific bit (virtio-blk's FLUSH); the transport adds its own. */
const OFFERED = 1n << 9n;
const VERSION_1_HIGH = 1 << (VIRTIO_F_VERSION_1 - 32);

function transport() {
  const log: string[] = [];
  let activated: Array<QueueLayout | undefined> = [];
  const config = new Uint8Array(8).fill(0x5a);
  const state = VirtioMmioSignals.createState();
  const device = new VirtioMmioRegisters(state, { deviceId: 4, features: OFFERED, queueSizes: [256], config }, () => log.push('vcpu irq'), {
    activate: (queues, features) => { activated = queues; log.push(`activate ${features.toString(16)}`); },
    reset: () => log.push('reset'),
    validateQueue: (layout) => { if (layout.descriptorTable >= 0x1000_0000) throw new Error('outside RAM'); },
  });
  const signals = new VirtioMmioSignals(state, () => log.push('irq'));
  const read = (offset: number): number => device.read(offset, 4);
  const write = (offset: number, value: number): void => device.write(offset, 4, value);
  const negotiate = (low: number, high: number): void => {
    write(R.status, Status.Acknowledge);
    write(R.status, Status.Acknowledge | Status.Driver);
    write(R.driverFeaturesSel, 0);
    write(R.driverFeatures, low);
    write(R.driverFeaturesSel, 1);
    write(R.driverFeatures, high);
    write(R.status, Status.Acknowledge | Status.Driver | Status.FeaturesOk);
  };
  const setupQueue = (size = 128, desc = 0x10000): void => {
    write(R.queueSel, 0);
    write(R.queueNum, size);
    write(R.descLow, desc);
    write(R.driverLow, 0x20000);
    write(R.deviceLow, 0x30000);
    write(R.queueReady, 1);
  };
  return { device, signals, log, read, write, negotiate, setupQueue, config, activated: () => activated };
}

t.test('identification registers', async (t) => {
  const { read } = transport();
  t.equal(read(R.magic), MMIO_MAGIC);
  t.equal(read(R.version), 2);
  t.equal(read(R.deviceId), 4);
  t.equal(read(R.vendor), VENDOR_ID);
  t.equal(read(R.queueNumMax), 256);
});

t.test('device features in two halves; VERSION_1, EVENT_IDX and INDIRECT_DESC always offered', async (t) => {
  const { read, write } = transport();
  write(R.deviceFeaturesSel, 0);
  t.equal(read(R.deviceFeatures), ((1 << VIRTIO_F_RING_EVENT_IDX) | (1 << VIRTIO_F_INDIRECT_DESC) | (1 << 9)) >>> 0);
  write(R.deviceFeaturesSel, 1);
  t.equal(read(R.deviceFeatures), VERSION_1_HIGH);
  write(R.deviceFeaturesSel, 2);
  t.equal(read(R.deviceFeatures), 0);
});

t.test('a full initialisation activates the device with the negotiated features and queues', async (t) => {
  const { read, write, negotiate, setupQueue, log, activated } = transport();
  negotiate(1 << VIRTIO_F_RING_EVENT_IDX, VERSION_1_HIGH);
  t.equal(read(R.status) & Status.FeaturesOk, Status.FeaturesOk, 'FEATURES_OK kept');
  setupQueue();
  t.equal(read(R.queueReady), 1);
  write(R.status, Status.Acknowledge | Status.Driver | Status.FeaturesOk | Status.DriverOk);
  t.same(log, ['activate 120000000']);
  t.match(activated()[0], { size: 128, descriptorTable: 0x10000, availableRing: 0x20000, usedRing: 0x30000, eventIndex: true });
});

t.test('FEATURES_OK is refused for features not offered, or without VERSION_1', async (t) => {
  const unoffered = transport();
  unoffered.negotiate(1 << 5, VERSION_1_HIGH);
  t.equal(unoffered.read(R.status) & Status.FeaturesOk, 0);
  const legacy = transport();
  legacy.negotiate(0, 0);
  t.equal(legacy.read(R.status) & Status.FeaturesOk, 0);
  legacy.write(R.status, Status.Acknowledge | Status.Driver | Status.DriverOk);
  t.equal(legacy.read(R.status) & Status.DriverOk, 0, 'no DRIVER_OK without FEATURES_OK');
  t.same(legacy.log, [], 'never activated');
});

t.test('status: bits are only added; writing 0 resets everything', async (t) => {
  const { read, write, negotiate, setupQueue, log } = transport();
  negotiate(0, VERSION_1_HIGH);
  write(R.status, Status.Acknowledge);
  t.equal(read(R.status), Status.Acknowledge | Status.Driver | Status.FeaturesOk, 'clearing bits is ignored');
  write(R.status, read(R.status) | Status.NeedsReset);
  t.equal(read(R.status) & Status.NeedsReset, 0, 'the driver cannot set NEEDS_RESET');
  setupQueue();
  write(R.status, 0);
  t.equal(read(R.status), 0);
  t.equal(read(R.queueReady), 0, 'queues dropped');
  t.ok(log.includes('reset'));
});

t.test('driver features are frozen once FEATURES_OK is set', async (t) => {
  const { write, negotiate, setupQueue, log } = transport();
  negotiate(0, VERSION_1_HIGH);
  write(R.driverFeaturesSel, 0);
  write(R.driverFeatures, 1 << VIRTIO_F_RING_EVENT_IDX);
  setupQueue();
  write(R.status, Status.Acknowledge | Status.Driver | Status.FeaturesOk | Status.DriverOk);
  t.same(log, ['activate 100000000'], 'EVENT_IDX written too late is not negotiated');
});

t.test('bad queues set NEEDS_RESET instead of going live', async (t) => {
  for (const [name, size, desc] of [['size not a power of 2', 100, 0x10000], ['size above QueueNumMax', 512, 0x10000], ['rings outside RAM', 128, 0x2000_0000]] as const) {
    const { device, read, write, negotiate, setupQueue } = transport();
    negotiate(0, VERSION_1_HIGH);
    setupQueue(size, desc);
    t.equal(read(R.queueReady), 0, `${name}: not ready`);
    t.equal(read(R.status) & Status.NeedsReset, Status.NeedsReset, `${name}: NEEDS_RESET`);
    t.equal(device.ringsRefused, 1, `${name}: counted`);
    write(R.status, 0);
    t.equal(device.ringsRefused, 1, `${name}: the count survives the reset`);
  }
});

t.test('queue registers cannot change under a live queue; unknown queues read as absent', async (t) => {
  const { read, write, negotiate, setupQueue, activated } = transport();
  negotiate(0, VERSION_1_HIGH);
  setupQueue();
  write(R.queueNum, 4);
  write(R.descLow, 0x40000);
  write(R.status, Status.Acknowledge | Status.Driver | Status.FeaturesOk | Status.DriverOk);
  t.match(activated()[0], { size: 128, descriptorTable: 0x10000 });
  write(R.queueSel, 9);
  t.equal(read(R.queueNumMax), 0);
  write(R.queueReady, 1);
  t.equal(read(R.queueReady), 0);
});

t.test('interrupts the device side raises are what the driver reads and acknowledges', async (t) => {
  const { signals, read, write, log } = transport();
  write(R.queueNotify, 0);
  signals.raiseInterrupt(Interrupt.UsedBuffer);
  signals.raiseInterrupt(Interrupt.UsedBuffer);
  t.equal(read(R.interruptStatus), Interrupt.UsedBuffer);
  write(R.interruptAck, Interrupt.UsedBuffer);
  t.equal(read(R.interruptStatus), 0);
  t.same(log, ['irq'], 'a notification is not the register file\'s business (ioeventfd); one edge per interrupt');
});

t.test('a config change while a used-buffer interrupt is pending gets an edge of its own', async (t) => {
  const { signals, read, write, log } = transport();
  signals.raiseInterrupt(Interrupt.UsedBuffer);
  signals.raiseInterrupt(Interrupt.ConfigChange);
  t.same(log, ['irq', 'irq']);
  write(R.interruptAck, Interrupt.UsedBuffer | Interrupt.ConfigChange);
  t.equal(read(R.interruptStatus), 0);
});

t.test('a restored transport sends the edge of an interrupt still pending, and only then', async (t) => {
  const { signals, write, log } = transport();
  signals.resendPending();
  t.same(log, [], 'nothing pending: no edge');
  signals.raiseInterrupt(Interrupt.UsedBuffer);
  signals.resendPending();
  t.same(log, ['irq', 'irq'], 'pending (the edge may have been lost with the irqchip state): sent again');
  signals.raiseInterrupt(Interrupt.UsedBuffer);
  t.same(log, ['irq', 'irq'], 'a further completion while it is pending still sends none');
  write(R.interruptAck, Interrupt.UsedBuffer);
  signals.resendPending();
  t.equal(log.length, 2, 'acknowledged: no edge');
});

t.test('config space and its generation counter', async (t) => {
  const { device, signals, read, write, config, log } = transport();
  t.equal(device.read(0x100, 1), 0x5a);
  device.write(0x101, 1, 7);
  t.equal(config[1], 0x5a, 'config space is read-only');
  const generation = read(R.generation);
  signals.configChanged();
  t.equal(read(R.generation), generation + 1);
  t.equal(read(R.interruptStatus) & Interrupt.ConfigChange, Interrupt.ConfigChange);
  t.ok(log.includes('irq'));
  write(R.interruptAck, Interrupt.ConfigChange);
});

t.test('NEEDS_RESET, from the device side or from a fault in a guest access, reaches the driver with an interrupt', async (t) => {
  const { device, signals, read, log } = transport();
  signals.needsReset();
  t.equal(read(R.status) & Status.NeedsReset, Status.NeedsReset, 'the device side set it');
  t.same(log, ['irq']);
  const other = transport();
  other.device.fault();
  t.equal(other.signals.status & Status.NeedsReset, Status.NeedsReset, 'a fault set it, seen by the device side');
  t.same(other.log, ['vcpu irq'], 'raised from the vCPU thread');
  t.equal(device.ringsRefused, signals.ringsRefused);
});

t.test('accesses that are not 32-bit are ignored or read as ones', async (t) => {
  const { device, read } = transport();
  t.equal(device.read(R.magic, 2), 0xffff_ffff);
  device.write(R.status, 1, Status.Acknowledge);
  t.equal(read(R.status), 0);
  t.equal(device.read(0x002, 4), 0xffff_ffff, 'unaligned');
});

t.test('selector values of 2^31 and more are the unsigned numbers the guest wrote', async (t) => {
  const { read, write } = transport();
  for (const select of [0x8000_0000, 0xfe00_0001, 0xff00_0000, 0xffff_ffff, 2]) {
    write(R.deviceFeaturesSel, select);
    t.equal(read(R.deviceFeatures), 0, `DeviceFeaturesSel 0x${select.toString(16)} selects no features`);
  }
  write(R.queueSel, 0xffff_ffff);
  t.equal(read(R.queueNumMax), 0, 'a huge QueueSel selects no queue');
});

t.test('property: any sequence of guest accesses leaves every read a 32-bit value and never throws', async (t) => {
  const offsets = fc.oneof(
    fc.constantFrom(...Object.values(R), 0x084, 0x094, 0x0a4, 0x0ac, 0x0b0, 0x0b8, 0x100, 0x104, 0x107),
    fc.integer({ min: 0, max: 0x1ff }),
  );
  const access = fc.record({
    write: fc.boolean(), offset: offsets, size: fc.constantFrom(1, 2, 4, 8),
    value: fc.oneof(fc.integer({ min: 0, max: 0xffff_ffff }), fc.constantFrom(0, 1, 0x8000_0000, 0xffff_ffff, 0xff00_0000)),
  });
  await checkProperty(t, 'virtio-mmio: random access sequences', 'queue/transport', 2000, fc.array(access, { maxLength: 60 }), (accesses) => {
    const { device } = transport();
    for (const { write, offset, size, value } of accesses) {
      if (write) {
        device.write(offset, size, value);
      } else {
        const result = device.read(offset, size);
        if (!Number.isInteger(result) || result < 0 || result > 0xffff_ffff) return false;
      }
    }
    return true;
  });
});

// The split virtqueue walker against hand-built rings: good chains, and each
// way a hostile guest can break the rules.
import fc from 'fast-check';
import t from 'tap';
import { checkProperty } from '../helpers/property.js';
import { GuestMemory } from '../../src/vm/memory.js';
import {
  QueueError, SplitQueue, VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE,
  type QueueLayout,
} from '../../src/virtio/queue.js';

const SIZE = 8;
const LAYOUT: QueueLayout = { size: SIZE, descriptorTable: 0x1000, availableRing: 0x2000, usedRing: 0x3000, eventIndex: false };
const NEXT = VIRTQ_DESC_F_NEXT;
const WRITE = VIRTQ_DESC_F_WRITE;
const INDIRECT = VIRTQ_DESC_F_INDIRECT;

function setup(layout: Partial<QueueLayout> = {}, memorySize = 16 * 2 ** 20) {
  const memory = GuestMemory.detached(memorySize);
  const full = { ...LAYOUT, ...layout };
  const descriptor = (table: number, index: number, address: number, length: number, flags = 0, next = 0): void => {
    const at = table + 16 * index;
    memory.writeU64(at, BigInt(address));
    memory.writeU32(at + 8, length);
    memory.writeU16(at + 12, flags);
    memory.writeU16(at + 14, next);
  };
  let availableIndex = 0;
  const offer = (...heads: number[]): void => {
    for (const head of heads) {
      memory.writeU16(full.availableRing + 4 + 2 * (availableIndex % full.size), head);
      availableIndex = (availableIndex + 1) & 0xffff;
    }
    memory.writeU16(full.availableRing + 2, availableIndex);
  };
  return { memory, queue: new SplitQueue(memory, full), descriptor, offer, layout: full };
}

t.test('a readable-then-writable chain, and the used ring', async (t) => {
  const { memory, queue, descriptor, offer } = setup();
  memory.write(0x10000, new TextEncoder().encode('hello'));
  descriptor(0x1000, 0, 0x10000, 5, NEXT, 1);
  descriptor(0x1000, 1, 0x11000, 100, WRITE | NEXT, 2);
  descriptor(0x1000, 2, 0x12000, 20, WRITE);
  t.equal(queue.pop(), undefined, 'nothing offered yet');
  offer(0);
  const chain = queue.pop();
  t.ok(chain);
  t.equal(chain?.head, 0);
  t.equal(new TextDecoder().decode(chain?.readable[0]), 'hello');
  t.same([chain?.readableLength, chain?.writableLength, chain?.writable.length], [5, 120, 2]);
  chain?.writable[0]?.set([1, 2, 3]);
  t.same([...memory.slice(0x11000, 3)], [1, 2, 3], 'writable buffers are guest memory itself');
  queue.pushUsed(0, 3);
  t.equal(memory.readU16(0x3002), 1, 'used index');
  t.same([memory.readU32(0x3004), memory.readU32(0x3008)], [0, 3], 'used element');
  t.equal(queue.pop(), undefined);
  t.ok(queue.needsInterrupt(), 'interrupt after a used entry');
  t.notOk(queue.needsInterrupt(), 'not again for the same entries');
});

t.test('the guest can suppress interrupts', async (t) => {
  const { memory, queue, descriptor, offer } = setup();
  memory.writeU16(0x2000, VIRTQ_AVAIL_F_NO_INTERRUPT);
  descriptor(0x1000, 0, 0x10000, 8, WRITE);
  offer(0);
  queue.pushUsed(queue.pop()?.head ?? -1, 8);
  t.notOk(queue.needsInterrupt());
});

t.test('event index: avail_event is published and used_event decides interrupts', async (t) => {
  const { memory, queue, descriptor, offer } = setup({ eventIndex: true });
  for (let i = 0; i < 3; i++) descriptor(0x1000, i, 0x10000 + i * 0x100, 8, WRITE);
  offer(0, 1, 2);
  memory.writeU16(0x2000 + 4 + 2 * SIZE, 1); // used_event: interrupt once used idx passes 1
  queue.pushUsed(queue.pop()?.head ?? -1, 8);
  t.equal(memory.readU16(0x3000 + 4 + 8 * SIZE), 1, 'avail_event follows what was taken');
  t.notOk(queue.needsInterrupt(), 'used idx 1 has not passed used_event 1');
  queue.pushUsed(queue.pop()?.head ?? -1, 8);
  t.ok(queue.needsInterrupt(), 'used idx 2 passed used_event 1');
  queue.pushUsed(queue.pop()?.head ?? -1, 8);
  t.notOk(queue.needsInterrupt(), 'used_event not moved on by the guest');
});

t.test('an indirect table', async (t) => {
  const { queue, descriptor, offer } = setup();
  descriptor(0x1000, 0, 0x20000, 3 * 16, INDIRECT);
  descriptor(0x20000, 0, 0x10000, 16, NEXT, 1);
  descriptor(0x20000, 1, 0x11000, 512, WRITE | NEXT, 2);
  descriptor(0x20000, 2, 0x12000, 1, WRITE);
  offer(0);
  const chain = queue.pop();
  t.same([chain?.readableLength, chain?.writableLength], [16, 513]);
});

t.test('an indirect table can hold as many descriptors as the queue', async (t) => {
  const { queue, descriptor, offer } = setup();
  descriptor(0x1000, 0, 0x20000, SIZE * 16, INDIRECT);
  for (let i = 0; i < SIZE; i++) descriptor(0x20000, i, 0x10000 + i * 16, 16, i < SIZE - 1 ? NEXT : 0, i + 1);
  offer(0);
  t.equal(queue.pop()?.readable.length, SIZE);
});

t.test('hostile rings are refused with a QueueError', async (t) => {
  type Case = [string, (s: ReturnType<typeof setup>) => void, RegExp];
  const cases: Case[] = [
    ['descriptor outside RAM', ({ descriptor, offer }) => { descriptor(0x1000, 0, 0xffff_0000, 16); offer(0); }, /outside guest RAM/],
    ['length past the end of RAM', ({ descriptor, offer }) => { descriptor(0x1000, 0, 16 * 2 ** 20 - 8, 16); offer(0); }, /outside guest RAM/],
    ['64-bit address beyond any RAM', ({ memory, offer }) => { memory.writeU64(0x1000, 1n << 62n); memory.writeU32(0x1008, 1); offer(0); }, /out of range|outside guest RAM/],
    ['a loop', ({ descriptor, offer }) => { descriptor(0x1000, 0, 0x10000, 1, NEXT, 1); descriptor(0x1000, 1, 0x10000, 1, NEXT, 0); offer(0); }, /longer than its table/],
    ['a self loop', ({ descriptor, offer }) => { descriptor(0x1000, 3, 0x10000, 1, NEXT, 3); offer(3); }, /longer than its table/],
    ['next beyond the table', ({ descriptor, offer }) => { descriptor(0x1000, 0, 0x10000, 1, NEXT, SIZE); offer(0); }, /beyond its table/],
    ['head beyond the table', ({ offer }) => { offer(SIZE + 3); }, /names descriptor 11/],
    ['available index too far ahead', ({ memory }) => { memory.writeU16(0x2002, SIZE + 1); }, /entries ahead/],
    ['readable after writable', ({ descriptor, offer }) => { descriptor(0x1000, 0, 0x10000, 1, WRITE | NEXT, 1); descriptor(0x1000, 1, 0x11000, 1); offer(0); }, /readable after a device-writable/],
    ['indirect with NEXT', ({ descriptor, offer }) => { descriptor(0x1000, 0, 0x20000, 16, INDIRECT | NEXT, 1); offer(0); }, /also has NEXT/],
    ['indirect inside indirect', ({ descriptor, offer }) => { descriptor(0x1000, 0, 0x20000, 16, INDIRECT); descriptor(0x20000, 0, 0x21000, 16, INDIRECT); offer(0); }, /inside an indirect/],
    ['indirect length not a multiple of 16', ({ descriptor, offer }) => { descriptor(0x1000, 0, 0x20000, 20, INDIRECT); offer(0); }, /not a multiple of 16/],
    ['empty indirect table', ({ descriptor, offer }) => { descriptor(0x1000, 0, 0x20000, 0, INDIRECT); offer(0); }, /not a multiple of 16/],
    ['indirect table outside RAM', ({ descriptor, offer }) => { descriptor(0x1000, 0, 0xfff_0000, 32, INDIRECT); offer(0); }, /outside guest RAM/],
    ['indirect table longer than the queue', ({ descriptor, offer }) => { descriptor(0x1000, 0, 0x20000, (SIZE + 1) * 16, INDIRECT); offer(0); }, /longer than the queue/],
    ['a loop inside an indirect table', ({ descriptor, offer }) => { descriptor(0x1000, 0, 0x20000, 32, INDIRECT); descriptor(0x20000, 0, 0x10000, 1, NEXT, 1); descriptor(0x20000, 1, 0x10000, 1, NEXT, 0); offer(0); }, /longer than its table/],
    ['next beyond an indirect table', ({ descriptor, offer }) => { descriptor(0x1000, 0, 0x20000, 32, INDIRECT); descriptor(0x20000, 0, 0x10000, 1, NEXT, 2); offer(0); }, /beyond its table of 2/],
  ];
  for (const [name, build, message] of cases) {
    const s = setup();
    build(s);
    t.throws(() => s.queue.pop(), { name: 'QueueError', message }, name);
  }
});

t.test('queue layouts are checked when the queue is set up', async (t) => {
  const memory = GuestMemory.detached(2 ** 20);
  t.throws(() => new SplitQueue(memory, { ...LAYOUT, size: 6 }), /not a power of 2/);
  t.throws(() => new SplitQueue(memory, { ...LAYOUT, size: 65536 }), /not a power of 2 up to 32768/);
  t.throws(() => new SplitQueue(memory, { ...LAYOUT, descriptorTable: 0x1008 }), /not 16-byte aligned/);
  t.throws(() => new SplitQueue(memory, { ...LAYOUT, usedRing: 0x3002 }), /not 4-byte aligned/);
  t.throws(() => new SplitQueue(memory, { ...LAYOUT, usedRing: 2 ** 20 - 8 }), /used ring .* outside guest RAM/);
});

t.test('indices wrap at 65536', async (t) => {
  const { memory, queue, descriptor } = setup();
  descriptor(0x1000, 0, 0x10000, 4, WRITE);
  for (let round = 0; round < 70000; round++) {
    const index = (round + 1) & 0xffff;
    memory.writeU16(0x2000 + 4 + 2 * (round % SIZE), 0);
    memory.writeU16(0x2002, index);
    const chain = queue.pop();
    if (!chain) {
      t.fail(`no chain at round ${round}`);
      return;
    }
    queue.pushUsed(chain.head, 4);
  }
  t.equal(memory.readU16(0x3002), 70000 & 0xffff);
  t.equal(queue.pop(), undefined);
});

/** Small, so thousands of cases stay quick. */
const PROPERTY_RAM = 256 * 1024;

t.test('property: whatever the guest puts in the rings, pop returns chains inside RAM or throws a QueueError, and only the used ring is written', async (t) => {
  const u16 = fc.integer({ min: 0, max: 0xffff });
  const address = fc.oneof(
    fc.integer({ min: 0, max: 0x20000 }), fc.integer({ min: PROPERTY_RAM - 64, max: PROPERTY_RAM + 64 }),
    fc.constantFrom(2 ** 53 - 1, 2 ** 32, 0xffff_ffff),
  );
  const descriptorArb = fc.record({
    address, length: fc.oneof(fc.integer({ min: 0, max: 0x2000 }), fc.constantFrom(0xffff_ffff, 0x8000_0000, 16, 32)),
    flags: fc.oneof(fc.integer({ min: 0, max: 7 }), u16), next: fc.oneof(fc.integer({ min: 0, max: SIZE + 1 }), u16),
  });
  const ringArb = fc.record({
    table: fc.array(descriptorArb, { minLength: SIZE, maxLength: SIZE }),
    indirect: fc.array(descriptorArb, { maxLength: 8 }),
    heads: fc.array(fc.oneof(fc.integer({ min: 0, max: SIZE - 1 }), u16), { maxLength: 12 }),
    availableIndex: fc.option(u16),
  });
  await checkProperty(t, 'split queue: random rings', 'queue/transport', 3000, ringArb, ({ table, indirect, heads, availableIndex }) => {
    const { memory, queue, descriptor, offer, layout } = setup({}, PROPERTY_RAM);
    table.forEach((d, i) => descriptor(0x1000, i, d.address, d.length, d.flags, d.next));
    // An indirect table at 0x5000 that some descriptors may point at.
    indirect.forEach((d, i) => descriptor(0x5000, i, d.address, d.length, d.flags, d.next));
    offer(...heads);
    if (availableIndex !== null) memory.writeU16(layout.availableRing + 2, availableIndex);
    const ram = memory.slice(0, PROPERTY_RAM);
    const before = ram.slice();
    const insideRam = (buffer: Uint8Array): boolean => buffer.buffer === ram.buffer && buffer.byteOffset + buffer.length <= PROPERTY_RAM;
    let chainsValid = true;
    for (let i = 0; i < 2 * SIZE; i++) {
      let chain;
      try {
        chain = queue.pop();
      } catch (error) {
        if (error instanceof QueueError) break;
        throw error;
      }
      if (!chain) break;
      const total = [...chain.readable, ...chain.writable].reduce((sum, buffer) => sum + buffer.length, 0);
      chainsValid &&= total <= PROPERTY_RAM && chain.head < SIZE && [...chain.readable, ...chain.writable].every(insideRam);
      queue.pushUsed(chain.head, chain.writableLength);
    }
    // The queue itself writes only the used ring (flags, index, elements, avail_event).
    const usedEnd = layout.usedRing + 6 + 8 * SIZE;
    const unchanged = (from: number, to: number): boolean =>
      Buffer.from(ram.buffer, ram.byteOffset + from, to - from).equals(before.subarray(from, to));
    return chainsValid && unchanged(0, layout.usedRing) && unchanged(usedEnd, PROPERTY_RAM);
  });
});

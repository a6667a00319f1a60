// Each virtio device model fed whatever a hostile driver can put in its
// queues (any chain shapes, any header fields, any lengths) and whatever its
// backend hands it. The invariants, per case:
// - no exception escapes the device;
// - every chain comes back at most once, with no more bytes written than it
//   had device-writable room, or the device fails the queue (NEEDS_RESET);
// - device-readable buffers are never written;
// - block: nothing outside the disk's whole sectors is ever written on the
//   host, and a read-only disk is never written at all;
// - net and console: bytes reach the other side whole and in order.
import { mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { BlockRequest, VirtioBlock } from '../../src/virtio/block.js';
import { VirtioConsole } from '../../src/virtio/console.js';
import type { VirtioDevice } from '../../src/virtio/device.js';
import type { NetBackend } from '../../src/virtio/net/backend.js';
import { MAX_FRAME, NET_HEADER_SIZE, NetFeature, RX_QUEUE, TX_QUEUE, VirtioNet } from '../../src/virtio/net.js';
import type { DescriptorChain } from '../../src/virtio/queue.js';
import { VirtioRng } from '../../src/virtio/rng.js';
import { checkProperty } from '../helpers/property.js';
import { chain, FakeQueues } from '../helpers/virtio.js';

/** A chain offered to a device, with copies of its readable bytes to compare afterwards. */
interface Offered {
  queue: number;
  chain: DescriptorChain;
  readableBefore: Uint8Array[];
}

class Driver {
  readonly queues = new FakeQueues();
  readonly offered: Offered[] = [];
  private nextHead = 0;

  constructor(readonly device: VirtioDevice, features = 0n) {
    device.activate(this.queues, features);
  }

  offer(queue: number, readable: Uint8Array[], writable: Uint8Array[]): void {
    const offered = chain(readable, writable, this.nextHead++);
    this.offered.push({ queue, chain: offered, readableBefore: readable.map((buffer) => buffer.slice()) });
    this.queues.offer(queue, offered);
  }

  /** Every completion names a chain offered on that queue, once, within its writable room; readable bytes untouched. */
  holdsInvariants(): boolean {
    const seen = new Set<number>();
    for (const { queue, head, written } of this.queues.completions) {
      const offered = this.offered[head];
      if (!offered || offered.queue !== queue || seen.has(head) || written < 0 || written > offered.chain.writableLength) return false;
      seen.add(head);
    }
    return this.offered.every(({ chain, readableBefore }) =>
      chain.readable.every((buffer, i) => Buffer.from(buffer).equals(readableBefore[i] as Uint8Array)));
  }

  /** Resolves once every offered chain came back or the device failed; false after `limitMs` (a hang). */
  async settled(limitMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + limitMs;
    while (this.queues.live && this.queues.completions.length < this.offered.length) {
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setImmediate(resolve));
    }
    return true;
  }
}

const bytes = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max });
const room = (max: number): fc.Arbitrary<Uint8Array> => fc.integer({ min: 0, max }).map((length) => new Uint8Array(length));

// --- virtio-blk ---------------------------------------------------------

const SECTORS = 8;
const TAIL = 100; // bytes after the last whole sector: the device must never write them

const blockRequestArb = fc.record({
  type: fc.oneof(
    fc.constantFrom(BlockRequest.In, BlockRequest.Out, BlockRequest.Flush, BlockRequest.GetId, BlockRequest.Discard, BlockRequest.WriteZeroes),
    fc.integer({ min: 0, max: 0xffff_ffff }),
  ),
  // Most requests aim at the last sectors, where an off-by-one would reach the bytes past the disk.
  sector: fc.oneof(
    { arbitrary: fc.constantFrom(BigInt(SECTORS - 2), BigInt(SECTORS - 1), BigInt(SECTORS), BigInt(SECTORS + 1)), weight: 3 },
    fc.bigInt({ min: 0n, max: BigInt(SECTORS) }), fc.constantFrom(2n ** 32n, 2n ** 63n, 2n ** 64n - 1n),
  ),
  headerLength: fc.constantFrom(16, 16, 16, 0, 8, 15, 24),
  data: fc.oneof(
    { arbitrary: fc.array(fc.constantFrom<number>(512, 1024), { maxLength: 2 }), weight: 3 },
    fc.array(fc.oneof(fc.constantFrom(16, 32), fc.integer({ min: 0, max: 1600 })), { maxLength: 3 }),
  ),
  dataFill: fc.integer({ min: 0, max: 255 }),
  statusLength: fc.constantFrom(1, 1, 1, 0, 3),
  splitHeader: fc.boolean(),
});

type BlockRequestCase = typeof blockRequestArb extends fc.Arbitrary<infer T> ? T : never;

function blockChain(request: BlockRequestCase): { readable: Uint8Array[]; writable: Uint8Array[] } {
  const header = new Uint8Array(Math.max(request.headerLength, 16));
  const view = new DataView(header.buffer);
  view.setUint32(0, request.type, true);
  view.setBigUint64(8, request.sector, true);
  const headerBytes = header.subarray(0, request.headerLength);
  const headers = request.splitHeader ? [headerBytes.subarray(0, 5), headerBytes.subarray(5)] : [headerBytes];
  const data = request.data.map((length) => new Uint8Array(length).fill(request.dataFill));
  const status = new Uint8Array(request.statusLength).fill(0xee);
  // Reads and get-id take device-writable data; everything else carries it device-readable.
  const writes = request.type === BlockRequest.In || request.type === BlockRequest.GetId;
  return writes ? { readable: headers, writable: [...data, status] } : { readable: [...headers, ...data], writable: [status] };
}

function blockImage(readonly: boolean) {
  const path = join(mkdtempSync(join(tmpdir(), 'tsvmm-blk-property-')), 'disk.img');
  writeFileSync(path, Uint8Array.from({ length: SECTORS * 512 + TAIL }, (_, i) => i % 253));
  const device = new VirtioBlock('disk0', {
    fd: openSync(path, readonly ? 'r' : 'r+'), size: SECTORS * 512 + TAIL, readonly, serial: 'property', discard: !readonly,
  });
  t.teardown(() => device.close());
  return { path, device };
}

for (const readonly of [false, true]) {
  t.test(`property: virtio-blk (${readonly ? 'read-only' : 'writable'}) answers any request within its buffers and its disk`, async (t) => {
    const { path, device } = blockImage(readonly);
    const original = readFileSync(path);
    await checkProperty(t, `virtio-blk ${readonly ? 'read-only' : 'writable'}: random requests`, 'device', 150,
      fc.array(blockRequestArb, { minLength: 1, maxLength: 8 }), async (requests) => {
        writeFileSync(path, original); // each case (and each shrink step) starts from the same disk
        const driver = new Driver(device);
        for (const request of requests) {
          const { readable, writable } = blockChain(request);
          driver.offer(0, readable, writable);
        }
        device.notify(0);
        const settled = await driver.settled();
        device.reset();
        const now = readFileSync(path);
        const hostIntact = now.length === original.length
          && now.subarray(SECTORS * 512).equals(original.subarray(SECTORS * 512))
          && (!readonly || now.equals(original));
        return settled && driver.holdsInvariants() && hostIntact;
      });
  });
}

// --- virtio-net ---------------------------------------------------------

class RecordingBackend implements NetBackend {
  readonly sent: Uint8Array[] = [];
  receive: (frame: Uint8Array) => void = () => {};
  start(receive: (frame: Uint8Array) => void): void { this.receive = receive; }
  send(frame: Uint8Array): boolean {
    this.sent.push(frame.slice());
    return true;
  }
  pauseReceive(): void {}
  resumeReceive(): void {}
  resolved(): Record<string, never> { return {}; }
  counters(): Record<string, number> { return {}; }
  async close(): Promise<void> {}
}

const netStepArb = fc.oneof(
  fc.record({ kind: fc.constant('tx' as const), readable: fc.array(bytes(200), { maxLength: 4 }), writable: fc.array(room(64), { maxLength: 1 }) }),
  fc.record({ kind: fc.constant('rx' as const), readable: fc.array(bytes(16), { maxLength: 1 }), writable: fc.array(room(2048), { maxLength: 3 }) }),
  fc.record({ kind: fc.constant('frame' as const), length: fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.constantFrom(MAX_FRAME, MAX_FRAME + 1)) }),
  fc.record({ kind: fc.constant('notify' as const), queue: fc.constantFrom(RX_QUEUE, TX_QUEUE, 7) }),
);

t.test('property: virtio-net sends whole frames, fills only writable receive buffers, and never throws', async (t) => {
  await checkProperty(t, 'virtio-net: random queue and backend traffic', 'device', 500,
    fc.record({ mergeable: fc.boolean(), steps: fc.array(netStepArb, { maxLength: 24 }) }), async ({ mergeable, steps }) => {
      const backend = new RecordingBackend();
      const device = new VirtioNet('net0', new Uint8Array([0x52, 0x54, 0, 1, 2, 3]), backend);
      const driver = new Driver(device, mergeable ? 1n << BigInt(NetFeature.MrgRxbuf) : 0n);
      const expectedSent: Uint8Array[] = [];
      for (const step of steps) {
        if (step.kind === 'tx') {
          driver.offer(TX_QUEUE, step.readable, step.writable);
          const frame = Buffer.concat(step.readable).subarray(NET_HEADER_SIZE);
          if (frame.length > 0 && frame.length <= MAX_FRAME) expectedSent.push(frame);
        } else if (step.kind === 'rx') {
          driver.offer(RX_QUEUE, step.readable, step.writable);
        } else if (step.kind === 'frame') {
          backend.receive(new Uint8Array(step.length).fill(step.length & 0xff));
        } else {
          device.notify(step.queue);
        }
      }
      device.notify(TX_QUEUE);
      const { rx_frames: received = 0 } = device.counters();
      const sentWhole = !driver.queues.live || (backend.sent.length === expectedSent.length
        && backend.sent.every((frame, i) => Buffer.from(frame).equals(expectedSent[i] as Uint8Array)));
      const frames = steps.filter((step) => step.kind === 'frame').length;
      return driver.holdsInvariants() && sentWhole && received <= frames;
    });
});

// --- virtio-rng and virtio-console -------------------------------------

/** A chain on one of the device's queues (the transport never passes a notification for any other). */
const chainArb = (queues: number[]) => fc.record({
  queue: fc.constantFrom(...queues),
  readable: fc.array(bytes(64), { maxLength: 3 }),
  writable: fc.array(room(4096), { maxLength: 3 }),
});

t.test('property: virtio-rng fills only writable room, from any chain, and never throws', async (t) => {
  const device = new VirtioRng('rng0', openSync('/dev/urandom', 'r'));
  t.teardown(() => device.close());
  await checkProperty(t, 'virtio-rng: random chains', 'device', 500, fc.array(chainArb([0]), { maxLength: 8 }), async (chains) => {
    const driver = new Driver(device);
    for (const { queue, readable, writable } of chains) driver.offer(queue, readable, writable);
    device.notify(0);
    const ok = driver.holdsInvariants() && driver.queues.completions.length === chains.length;
    device.reset();
    return ok;
  });
});

t.test('property: virtio-console passes output through in order and places input only in receive buffers', async (t) => {
  await checkProperty(t, 'virtio-console: random chains and input', 'device', 500,
    fc.record({ chains: fc.array(chainArb([0, 1]), { maxLength: 8 }), input: bytes(3000) }), async ({ chains, input }) => {
      const output: Uint8Array[] = [];
      const device = new VirtioConsole('console0', (bytes) => output.push(bytes));
      const driver = new Driver(device);
      for (const { queue, readable, writable } of chains) driver.offer(queue, readable, writable);
      device.notify(0);
      device.notify(1);
      const placed = device.receive(input);
      const transmitted = driver.offered.filter(({ queue }) => queue === 1).flatMap(({ chain }) => chain.readable);
      const received = driver.queues.completions.filter(({ queue }) => queue === 0)
        .flatMap(({ head, written }) => [Buffer.concat((driver.offered[head] as Offered).chain.writable).subarray(0, written)]);
      return driver.holdsInvariants()
        && Buffer.concat(output).equals(Buffer.concat(transmitted))
        && Buffer.concat(received).equals(input.subarray(0, placed));
    });
});

// virtio-blk requests against a temporary raw image.
import { mkdtempSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { parseDisk } from '../../src/config/options.js';
import { LatencyStats } from '../../src/virtio/latency.js';
import { BlockFeature, BlockRequest, BlockStatus, MAX_IN_FLIGHT, VirtioBlock } from '../../src/virtio/block.js';
import type { DescriptorChain } from '../../src/virtio/queue.js';
import { chain, FakeQueues, serveOne } from '../helpers/virtio.js';

const SECTORS = 16;
const bit = (n: number): bigint => 1n << BigInt(n);

/** `direct` sends every transfer to the thread pool, as for an O_DIRECT image. */
function image(options: { readonly?: boolean; discard?: boolean; sectors?: number; direct?: boolean } = {}) {
  const sectors = options.sectors ?? SECTORS;
  const path = join(mkdtempSync(join(tmpdir(), 'tsvmm-blk-')), 'disk.img');
  writeFileSync(path, Uint8Array.from({ length: sectors * 512 + 100 }, (_, i) => i % 251));
  const readonly = options.readonly ?? false;
  const fd = openSync(path, readonly ? 'r' : 'r+');
  const device = new VirtioBlock('disk0', {
    fd, size: sectors * 512 + 100, readonly, serial: 'serial-0123456789-abcdef', discard: options.discard ?? !readonly,
    direct: options.direct ?? false,
  });
  t.teardown(() => device.close());
  return { path, device };
}

function header(type: number, sector: number): Uint8Array {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, type, true);
  view.setBigUint64(8, BigInt(sector), true);
  return bytes;
}

function ranges(...list: Array<[sector: number, count: number, flags: number]>): Uint8Array {
  const bytes = new Uint8Array(16 * list.length);
  const view = new DataView(bytes.buffer);
  list.forEach(([sector, count, flags], i) => {
    view.setBigUint64(16 * i, BigInt(sector), true);
    view.setUint32(16 * i + 8, count, true);
    view.setUint32(16 * i + 12, flags, true);
  });
  return bytes;
}

t.test('config space and features', async (t) => {
  const { device } = image();
  const config = new DataView(device.config.buffer);
  t.equal(config.getBigUint64(0, true), BigInt(SECTORS), 'capacity: whole sectors only');
  t.equal(config.getUint32(12, true), 254, 'seg_max leaves room for header and status');
  t.equal(config.getUint32(40, true), 32, 'max_discard_seg');
  t.equal(config.getUint8(56), 1, 'write_zeroes_may_unmap');
  t.equal(device.features, bit(BlockFeature.Flush) | bit(BlockFeature.SegMax) | bit(BlockFeature.Discard) | bit(BlockFeature.WriteZeroes));
  const readonly = image({ readonly: true }).device;
  t.equal(readonly.features, bit(BlockFeature.Flush) | bit(BlockFeature.SegMax) | bit(BlockFeature.Ro), 'read-only: RO, no discard');
  t.equal(new DataView(readonly.config.buffer).getUint32(36, true), 0, 'no discard limits without discard');
});

t.test('read, write, flush and get-id, inline and in the thread pool', async (t) => {
  for (const direct of [false, true]) await readWriteFlushGetId(t, direct);
});

async function readWriteFlushGetId(t: Test, direct: boolean): Promise<void> {
  const { device, path } = image({ direct });
  const data = new Uint8Array(1024);
  const status = new Uint8Array(1);
  t.equal(await serveOne(device, chain([header(BlockRequest.In, 2)], [data, status])), 1025);
  t.equal(status[0], BlockStatus.Ok);
  t.equal(data[0], (2 * 512) % 251, 'sector 2 read');

  const payload = new Uint8Array(512).fill(0xab);
  t.equal(await serveOne(device, chain([header(BlockRequest.Out, 5), payload], [status])), 1);
  t.equal(status[0], BlockStatus.Ok);
  t.equal(await serveOne(device, chain([header(BlockRequest.Flush, 0)], [status])), 1);
  t.equal(status[0], BlockStatus.Ok);
  t.equal(readFileSync(path)[5 * 512], 0xab, 'the host sees the write');

  const id = new Uint8Array(20);
  await serveOne(device, chain([header(BlockRequest.GetId, 0)], [id, status]));
  t.equal(new TextDecoder().decode(id), 'serial-0123456789-ab', 'GET_ID: at most 20 bytes');
  const counters = device.counters();
  t.match(counters, { read_bytes: 1024, write_bytes: 512, read_ops: 1, write_ops: 1, discard_ops: 0, write_zeroes_ops: 0 });
  for (const kind of ['read', 'write']) {
    const [min, max, avg] = ['min', 'max', 'avg'].map((what) => counters[`${kind}_latency_${what}`] ?? -1);
    t.ok(min >= 0 && min === max && max === avg, `${kind} latency in µs, as Cloud Hypervisor's counters: one request, min = max = avg`);
  }
}

t.test('a header split across buffers, data in the status buffer, data spread over buffers', async (t) => {
  const { device } = image();
  const h = header(BlockRequest.In, 1);
  const combined = new Uint8Array(513);
  t.equal(await serveOne(device, chain([h.subarray(0, 5), h.subarray(5)], [combined])), 513);
  t.equal(combined[512], BlockStatus.Ok);
  t.equal(combined[0], 512 % 251);
  const pieces = [new Uint8Array(100), new Uint8Array(900), new Uint8Array(24), new Uint8Array(1)];
  t.equal(await serveOne(device, chain([header(BlockRequest.In, 0)], pieces)), 1025);
  t.equal(pieces[1]?.[0], 100 % 251, 'the second buffer continues where the first stopped');
});

t.test('bad requests get an error status, not an exception', async (t) => {
  const { device } = image();
  const status = new Uint8Array(1);
  const cases: Array<[string, DescriptorChain, number]> = [
    ['read past the end', chain([header(BlockRequest.In, SECTORS - 1)], [new Uint8Array(1024), status]), BlockStatus.IoError],
    ['sector far beyond the end', chain([header(BlockRequest.In, 2 ** 60)], [new Uint8Array(512), status]), BlockStatus.IoError],
    ['length not a multiple of 512', chain([header(BlockRequest.In, 0)], [new Uint8Array(100), status]), BlockStatus.IoError],
    ['write past the end', chain([header(BlockRequest.Out, SECTORS), new Uint8Array(512)], [status]), BlockStatus.IoError],
    ['unknown type', chain([header(99, 0)], [status]), BlockStatus.Unsupported],
    ['short header', chain([new Uint8Array(8)], [status]), BlockStatus.IoError],
    ['get-id without a buffer', chain([header(BlockRequest.GetId, 0)], [status]), BlockStatus.IoError],
  ];
  for (const [name, request, expected] of cases) {
    status[0] = 0xff;
    t.equal(await serveOne(device, request), 1, `${name}: status written`);
    t.equal(status[0], expected, name);
  }
  t.equal(await serveOne(device, chain([header(BlockRequest.In, 0)], [])), 0, 'no status buffer: returned unanswered');
});

t.test('a read-only disk refuses writes, discards and write-zeroes', async (t) => {
  const { device, path } = image({ readonly: true });
  const before = readFileSync(path);
  const status = new Uint8Array(1);
  await serveOne(device, chain([header(BlockRequest.Out, 0), new Uint8Array(512)], [status]));
  t.equal(status[0], BlockStatus.IoError);
  await serveOne(device, chain([header(BlockRequest.Discard, 0), ranges([0, 1, 0])], [status]));
  t.equal(status[0], BlockStatus.Unsupported);
  await serveOne(device, chain([header(BlockRequest.WriteZeroes, 0), ranges([0, 1, 0])], [status]));
  t.equal(status[0], BlockStatus.Unsupported);
  t.same(readFileSync(path), before);
});

t.test('discard punches holes and write-zeroes zeroes, range by range', async (t) => {
  const { device, path } = image({ sectors: 2048 });
  const status = new Uint8Array(1);
  const blocksBefore = statSync(path).blocks;
  await serveOne(device, chain([header(BlockRequest.Discard, 0), ranges([0, 1024, 0])], [status]));
  t.equal(status[0], BlockStatus.Ok, 'discard');
  t.ok(statSync(path).blocks < blocksBefore, 'the host file lost blocks');
  t.ok(readFileSync(path).subarray(0, 1024 * 512).every((b) => b === 0), 'a discarded range reads as zeroes here');

  await serveOne(device, chain([header(BlockRequest.WriteZeroes, 0), ranges([1024, 2, 0], [1030, 1, 1])], [status]));
  t.equal(status[0], BlockStatus.Ok, 'write-zeroes, with and without unmap');
  const bytes = readFileSync(path);
  t.ok(bytes.subarray(1024 * 512, 1026 * 512).every((b) => b === 0), 'first range zeroed');
  t.ok(bytes.subarray(1030 * 512, 1031 * 512).every((b) => b === 0), 'second range zeroed');
  t.equal(bytes[1026 * 512], (1026 * 512) % 251, 'the sector between them is untouched');
  t.equal(bytes.length, 2048 * 512 + 100, 'the size is kept');

  const bad: Array<[string, number, Uint8Array, number]> = [
    ['range past the end', BlockRequest.Discard, ranges([2047, 2, 0]), BlockStatus.IoError],
    ['unmap flag on a discard', BlockRequest.Discard, ranges([0, 1, 1]), BlockStatus.Unsupported],
    ['reserved flag bits', BlockRequest.WriteZeroes, ranges([0, 1, 2]), BlockStatus.Unsupported],
    ['a partial range', BlockRequest.Discard, new Uint8Array(8), BlockStatus.IoError],
    ['no range', BlockRequest.Discard, new Uint8Array(0), BlockStatus.IoError],
    ['too many ranges', BlockRequest.Discard, ranges(...Array.from({ length: 33 }, (): [number, number, number] => [0, 1, 0])), BlockStatus.IoError],
  ];
  for (const [name, type, payload, expected] of bad) {
    status[0] = 0xff;
    await serveOne(device, chain([header(type, 0), payload], [status]));
    t.equal(status[0], expected, name);
  }
  t.match(device.counters(), { discard_ops: 1, write_zeroes_ops: 1 });
});

t.test('page-cache hits complete at once, in the same turn', async (t) => {
  const { device } = image();
  const queues = new FakeQueues();
  device.activate(queues);
  const buffers = [new Uint8Array(513), new Uint8Array(513)];
  buffers.forEach((buffer, i) => queues.offer(0, chain([header(BlockRequest.In, i)], [buffer], i)));
  device.notify(0);
  t.same(queues.completions.map((c) => c.head), [0, 1], 'both returned before notify() did');
  t.equal(buffers[1]?.[0], 512 % 251);
});

t.test('thread-pool requests: many at once, at most MAX_IN_FLIGHT, each completes once', async (t) => {
  const { device } = image({ sectors: 512, direct: true });
  const queues = new FakeQueues();
  device.activate(queues);
  const total = MAX_IN_FLIGHT * 3;
  const buffers = Array.from({ length: total }, () => new Uint8Array(513));
  buffers.forEach((buffer, i) => queues.offer(0, chain([header(BlockRequest.In, i % 512)], [buffer], i)));
  device.notify(0);
  t.equal(queues.taken[0]?.length, MAX_IN_FLIGHT, 'the device stops taking at its limit');
  const completions = await queues.completed(total);
  t.same(completions.map((c) => c.head).sort((a, b) => a - b), Array.from({ length: total }, (_, i) => i));
  t.ok(buffers.every((buffer, i) => buffer[512] === BlockStatus.Ok && buffer[0] === ((i % 512) * 512) % 251), 'every read right');
});

t.test('after a reset, requests in flight leave the guest buffers alone; close waits for them', async (t) => {
  const { device } = image({ direct: true });
  const queues = new FakeQueues();
  device.activate(queues);
  const status = new Uint8Array([0xff]);
  queues.offer(0, chain([header(BlockRequest.In, 0)], [new Uint8Array(512), status]));
  device.notify(0);
  queues.live = false;
  device.reset();
  await device.close();
  t.equal(status[0], 0xff, 'no status written after the reset');
  t.equal(queues.completions.length, 0);
});

t.test('--disk option strings', async (t) => {
  t.same(parseDisk('path=/a.img,readonly=on,direct=off,id=root'), { path: '/a.img', readonly: true, direct: false, id: 'root' });
  t.throws(() => parseDisk('readonly=on'), /path is required/);
  t.same(parseDisk('path=/a,serial=S1,queue_size=64,image_type=raw'), { path: '/a', serial: 'S1', queue_size: 64, image_type: 'Raw' });
  t.throws(() => parseDisk('path=/a,readonly=maybe'), /must be on or off/);
  t.throws(() => parseDisk('path=/a,cache=none'), /unknown key "cache"/);
});

t.test('latency counters: least, most and running mean of the successful requests', async (t) => {
  const stats = new LatencyStats();
  t.same(stats.counters('read'), { read_latency_min: 0, read_latency_max: 0, read_latency_avg: 0 }, '0 before any request');
  for (const micros of [30, 10, 20, 40]) stats.record(micros);
  t.same(stats.counters('read'), { read_latency_min: 10, read_latency_max: 40, read_latency_avg: 25 });
});

t.test('failures are counted: a request out of range, a malformed one, and host I/O that fails with its errno', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'tsvmm-blk-')), 'disk.img');
  writeFileSync(path, new Uint8Array(SECTORS * 512));
  // Opened read-only but presented writable: every write fails on the host with EBADF.
  const device = new VirtioBlock('disk0', { fd: openSync(path, 'r'), size: SECTORS * 512, readonly: false, serial: 's', discard: false });
  t.teardown(() => device.close());
  const status = new Uint8Array(1);
  await serveOne(device, chain([header(BlockRequest.In, SECTORS)], [new Uint8Array(512), status]));
  t.equal(status[0], BlockStatus.IoError, 'a read past the end');
  await serveOne(device, chain([new Uint8Array(4)], [status]));
  t.equal(status[0], BlockStatus.IoError, 'a header cut short');
  await serveOne(device, chain([header(BlockRequest.Out, 0), new Uint8Array(512)], [status]));
  t.equal(status[0], BlockStatus.IoError, 'a write the host refuses');
  t.match(device.counters(), { out_of_range: 1, malformed_requests: 1, io_errors: 1, last_errno: 9 });
});

t.test('the writer lock: one holder at a time, handed over by unlockImage (live migration), none for a read-only image', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'tsvmm-blk-')), 'disk.img');
  writeFileSync(path, new Uint8Array(SECTORS * 512));
  const open = (readonly: boolean): VirtioBlock =>
    new VirtioBlock('disk0', { fd: openSync(path, readonly ? 'r' : 'r+'), size: SECTORS * 512, readonly, serial: 's', discard: false });
  const source = open(false);
  const destination = open(false);
  const reader = open(true);
  t.teardown(() => Promise.all([source.close(), destination.close(), reader.close()]));
  t.ok(source.lockImage(), 'the source takes the lock');
  t.notOk(destination.lockImage(), 'a second writer is refused while the source holds it');
  t.ok(reader.lockImage(), 'a read-only image needs no lock');
  source.unlockImage();
  t.ok(destination.lockImage(), 'the destination takes it once the source let it go');
  t.notOk(source.lockImage(), 'and the source cannot take it back');
  await destination.close();
  t.ok(source.lockImage(), 'closing the image releases its lock');
});

// virtio-blk requests against a temporary raw image.
import { mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parseDisk } from '../../src/vm/config.js';
import { BlockRequest, BlockStatus, VirtioBlock, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_RO } from '../../src/virtio/block.js';
import type { DescriptorChain } from '../../src/virtio/queue.js';

const SECTORS = 16;

function image(readonly = false) {
  const path = join(mkdtempSync(join(tmpdir(), 'tsvmm-blk-')), 'disk.img');
  writeFileSync(path, Uint8Array.from({ length: SECTORS * 512 + 100 }, (_, i) => i % 251));
  const fd = openSync(path, readonly ? 'r' : 'r+');
  const device = new VirtioBlock('disk0', { fd, size: SECTORS * 512 + 100, readonly, serial: 'serial-0123456789-abcdef' });
  return { path, device };
}

function header(type: number, sector: number): Uint8Array {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, type, true);
  view.setBigUint64(8, BigInt(sector), true);
  return bytes;
}

function chain(readable: Uint8Array[], writable: Uint8Array[]): DescriptorChain {
  return {
    head: 0, readable, writable,
    readableLength: readable.reduce((s, b) => s + b.length, 0),
    writableLength: writable.reduce((s, b) => s + b.length, 0),
  };
}

t.test('capacity in config space, features', async (t) => {
  const { device } = image();
  t.equal(new DataView(device.config.buffer).getBigUint64(0, true), BigInt(SECTORS), 'whole sectors only');
  t.equal(device.features, 1n << BigInt(VIRTIO_BLK_F_FLUSH));
  t.equal(image(true).device.features & (1n << BigInt(VIRTIO_BLK_F_RO)), 1n << BigInt(VIRTIO_BLK_F_RO));
});

t.test('read, write, flush and get-id', async (t) => {
  const { device, path } = image();
  const data = new Uint8Array(1024);
  const status = new Uint8Array(1);
  t.equal(device.handle(0, chain([header(BlockRequest.In, 2)], [data, status])), 1025);
  t.equal(status[0], BlockStatus.Ok);
  t.equal(data[0], (2 * 512) % 251, 'sector 2 read');

  const payload = new Uint8Array(512).fill(0xab);
  t.equal(device.handle(0, chain([header(BlockRequest.Out, 5), payload], [status])), 1);
  t.equal(status[0], BlockStatus.Ok);
  t.equal(device.handle(0, chain([header(BlockRequest.Flush, 0)], [status])), 1);
  t.equal(status[0], BlockStatus.Ok);
  t.equal(readFileSync(path)[5 * 512], 0xab, 'the host sees the write');

  const id = new Uint8Array(20);
  device.handle(0, chain([header(BlockRequest.GetId, 0)], [id, status]));
  t.equal(new TextDecoder().decode(id), 'serial-0123456789-ab', 'GET_ID: at most 20 bytes');
  t.same(device.counters(), { read_bytes: 1024, write_bytes: 512, read_ops: 1, write_ops: 1 });
  device.close();
});

t.test('a header split across buffers, data in the status buffer', async (t) => {
  const { device } = image();
  const h = header(BlockRequest.In, 1);
  const combined = new Uint8Array(513);
  t.equal(device.handle(0, chain([h.subarray(0, 5), h.subarray(5)], [combined])), 513);
  t.equal(combined[512], BlockStatus.Ok);
  t.equal(combined[0], 512 % 251);
});

t.test('bad requests get an error status, not an exception', async (t) => {
  const { device } = image();
  const status = new Uint8Array(1);
  const cases: Array<[string, DescriptorChain, number]> = [
    ['read past the end', chain([header(BlockRequest.In, SECTORS - 1)], [new Uint8Array(1024), status]), BlockStatus.IoError],
    ['sector far beyond the end', chain([header(BlockRequest.In, 2 ** 60)], [new Uint8Array(512), status]), BlockStatus.IoError],
    ['length not a multiple of 512', chain([header(BlockRequest.In, 0)], [new Uint8Array(100), status]), BlockStatus.IoError],
    ['unknown type', chain([header(99, 0)], [status]), BlockStatus.Unsupported],
    ['short header', chain([new Uint8Array(8)], [status]), BlockStatus.IoError],
  ];
  for (const [name, request, expected] of cases) {
    status[0] = 0xff;
    device.handle(0, request);
    t.equal(status[0], expected, name);
  }
  t.equal(device.handle(0, chain([header(BlockRequest.In, 0)], [])), 0, 'no status buffer: dropped');
});

t.test('a read-only disk refuses writes', async (t) => {
  const { device, path } = image(true);
  const before = readFileSync(path);
  const status = new Uint8Array(1);
  device.handle(0, chain([header(BlockRequest.Out, 0), new Uint8Array(512)], [status]));
  t.equal(status[0], BlockStatus.IoError);
  t.same(readFileSync(path), before);
  device.close();
});

t.test('--disk option strings', async (t) => {
  t.same(parseDisk('path=/a.img,readonly=on,direct=off,id=root'), { path: '/a.img', readonly: true, direct: false, id: 'root' });
  t.throws(() => parseDisk('readonly=on'), /path= is required/);
  t.throws(() => parseDisk('path=/a,readonly=maybe'), /must be on or off/);
  t.throws(() => parseDisk('path=/a,cache=none'), /unknown key "cache"/);
});

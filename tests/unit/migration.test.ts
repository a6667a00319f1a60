// Live migration without a VM: the URLs, ch-remote's option strings, the
// wire format against a hostile peer (every malformed header, oversized
// frame, early end or garbage is a MigrationError, never another exception
// or a hang), and the record of what the VMM's devices write into guest
// memory, which KVM's dirty log cannot see; and a receiving VMM (no KVM
// needed) that a sender leaves mid-way answers, receives again and shuts down.
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer, connect, type Socket, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { parseReceiveMigration, parseSendMigration } from '../../src/config/options.js';
import {
  FrameReader, FrameType, MAX_MEMORY_RUN, readMemoryFrame, writeJson, writeMemory,
} from '../../src/migration/channel.js';
import { parseEndpoint } from '../../src/migration/endpoint.js';
import { helloProblem, hello } from '../../src/migration/protocol.js';
import { sendMigration } from '../../src/migration/send.js';
import type { VmConfig } from '../../src/config/schema.js';
import type { Vm, VmSavedState } from '../../src/vm/vm.js';
import { ConfigError, MigrationError } from '../../src/util/errors.js';
import { GuestMemory } from '../../src/vm/memory.js';
import { SplitQueue, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../src/virtio/queue.js';
import { ApiError } from '../../src/api/client.js';
import { startClientVmm } from '../helpers/api.js';
import { checkProperty } from '../helpers/property.js';
import { waitUntil } from '../helpers/wait.js';

/** A connected pair of TCP sockets on loopback. */
async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  const other = await accepted;
  server.close();
  await new Promise((resolve) => client.once('connect', resolve));
  return [client, other];
}

t.test('migration URLs', async (t) => {
  t.same(parseEndpoint('destination_url', 'unix:/run/m.sock'), { kind: 'unix', path: '/run/m.sock' });
  t.same(parseEndpoint('destination_url', 'tcp:192.0.2.1:6000'), { kind: 'tcp', host: '192.0.2.1', port: 6000 });
  t.same(parseEndpoint('receiver_url', 'tcp:[::1]:6000'), { kind: 'tcp', host: '::1', port: 6000 });
  for (const [url, message] of [
    ['unix:relative.sock', /absolute socket path/],
    ['tcp:host', /tcp:HOST:PORT/],
    ['tcp::6000', /tcp:HOST:PORT/],
    ['tcp:h:70000', /port up to 65535/],
    ['tcp:h:6x', /tcp:HOST:PORT/],
    ['file:///tmp/x', /neither unix:\/PATH nor tcp:HOST:PORT/],
  ] as const) {
    t.throws(() => parseEndpoint('receiver_url', url), { name: 'ConfigError', message }, url);
  }
  t.throws(() => parseEndpoint('destination_url', 'x'), /^destination_url "x"/, 'the error names the field');
});

t.test("ch-remote's send-migration and receive-migration option strings", async (t) => {
  t.same(parseSendMigration('destination_url=tcp:h:1,downtime_ms=100,timeout_s=5,timeout_strategy=ignore,preserve_source=on'),
    { destination_url: 'tcp:h:1', downtime_ms: 100, timeout_s: 5, timeout_strategy: 'Ignore', preserve_source: true });
  t.same(parseSendMigration('unix:/run/m.sock'), { destination_url: 'unix:/run/m.sock' }, 'a URL alone, as older ch-remote took it');
  t.same(parseReceiveMigration('receiver_url=unix:/run/m.sock'), { receiver_url: 'unix:/run/m.sock' });
  t.same(parseReceiveMigration('receiver_url=unix:/run/m.sock,network_overrides=[_net0@[local=127.0.0.1:0,remote=127.0.0.1:7000]]'),
    { receiver_url: 'unix:/run/m.sock', network_overrides: [{ id: '_net0', local: '127.0.0.1:0', remote: '127.0.0.1:7000' }] });
  t.throws(() => parseSendMigration('local=on'), /destination_url is required/);
  t.throws(() => parseSendMigration('destination_url=tcp:h:1,tls_dir=/etc/tls'), { name: 'ConfigError', message: /tls_dir=\/etc\/tls is not supported/ });
  t.throws(() => parseReceiveMigration('receiver_url=unix:/x,zone_updates=[]'), /zone_updates=.* is not supported/);
  t.throws(() => parseSendMigration('destination_url=tcp:h:1,bogus=1'), ConfigError);
});

t.test('the hello: format, version and memory size are checked', async (t) => {
  t.equal(helloProblem(hello({ memory: { size: 4096 } })), undefined, 'our own hello passes');
  t.match(helloProblem({ ...hello({ memory: { size: 4096 } }), version: 2 }), /version 2; this tsvmm speaks 1/);
  t.match(helloProblem({ format: 'qemu' }), /not a tsvmm migration/);
  t.match(helloProblem({ ...hello({ memory: { size: 4096 } }), memory_size: -1 }), /memory_size/);
  t.match(helloProblem(null), /not a tsvmm migration/);
});

t.test('frames go across whole, split or batched, and memory frames keep their offset', async (t) => {
  const [a, b] = await socketPair();
  t.teardown(() => { a.destroy(); b.destroy(); });
  const reader = new FrameReader(b, 'sender');
  await writeJson(a, FrameType.Hello, { hi: 1 });
  const run = new Uint8Array(MAX_MEMORY_RUN).fill(7);
  await writeMemory(a, 8192, run);
  await writeJson(a, FrameType.State, { done: true });
  t.same(JSON.parse((await reader.expect(FrameType.Hello)).toString()), { hi: 1 });
  const memory = readMemoryFrame(await reader.expect(FrameType.Memory), 'sender');
  t.equal(memory.offset, 8192);
  t.equal(memory.bytes.length, MAX_MEMORY_RUN);
  t.ok(memory.bytes.every((byte) => byte === 7), 'the bytes arrive as sent');
  t.same(JSON.parse((await reader.expect(FrameType.State)).toString()), { done: true });
  await writeJson(a, FrameType.Reply, { ok: false, message: 'no room' });
  await t.rejects(reader.expect(FrameType.Memory), { name: 'MigrationError', message: /the sender failed: no room/ }, "a peer's refusal is its message");
});

t.test('a hostile peer: any bytes end in a MigrationError or more frames, never anything else', async (t) => {
  const header = (type: number, length: number, reserved = 0): Buffer => {
    const bytes = Buffer.alloc(8);
    bytes[0] = type;
    bytes[1] = reserved;
    bytes.writeUInt32LE(length, 4);
    return bytes;
  };
  const cases: Array<[string, Buffer, RegExp]> = [
    ['an unknown frame type', header(9, 0), /malformed frame header \(type 9\)/],
    ['reserved bytes set', header(FrameType.Memory, 8, 1), /malformed frame header/],
    ['a memory frame over the limit', header(FrameType.Memory, MAX_MEMORY_RUN + 9), /allows/],
    ['an end inside a frame', Buffer.concat([header(FrameType.State, 100), Buffer.from('{"x":')]), /closed/],
    ['an end inside a header', Buffer.from([2, 0, 0]), /closed/],
  ];
  for (const [what, bytes, message] of cases) {
    const [a, b] = await socketPair();
    const reader = new FrameReader(b, 'sender');
    a.end(bytes);
    await t.rejects(reader.next(), { name: 'MigrationError', message }, what);
    a.destroy();
    b.destroy();
  }
  const [a, b] = await socketPair();
  t.teardown(() => { a.destroy(); b.destroy(); });
  await writeJson(a, FrameType.State, 'x');
  const reader = new FrameReader(b, 'sender');
  t.throws(() => readMemoryFrame(Buffer.alloc(4), 'sender'), MigrationError, 'a memory frame without its offset');
  t.same((await reader.next()).type, FrameType.State);

  await checkProperty(t, 'random bytes from the peer', 'queue/transport', 40, fc.uint8Array({ maxLength: 64 }), async (bytes) => {
    const [x, y] = await socketPair();
    const frames = new FrameReader(y, 'sender');
    x.end(Buffer.from(bytes));
    try {
      for (let i = 0; i < 16; i++) await frames.next();
      return true;
    } catch (error) {
      return error instanceof MigrationError;
    } finally {
      x.destroy();
      y.destroy();
    }
  });
});

t.test("the devices' writes into guest memory are recorded while a migration runs", async (t) => {
  const memory = GuestMemory.detached(1 << 20);
  const layout = { size: 8, descriptorTable: 0x1000, availableRing: 0x2000, usedRing: 0x3000, eventIndex: false };
  const queue = new SplitQueue(memory, layout);
  const descriptor = (index: number, address: number, length: number, flags: number, next = 0): void => {
    memory.writeU64(0x1000 + 16 * index, BigInt(address));
    memory.writeU32(0x1000 + 16 * index + 8, length);
    memory.writeU16(0x1000 + 16 * index + 12, flags);
    memory.writeU16(0x1000 + 16 * index + 14, next);
  };
  descriptor(0, 0x10000, 16, VIRTQ_DESC_F_NEXT, 1);
  descriptor(1, 0x21000, 0x2000, VIRTQ_DESC_F_WRITE);
  memory.writeU16(0x2004, 0);
  memory.writeU16(0x2002, 1);
  const chain = queue.pop();
  t.ok(chain, 'a chain taken before the record starts');
  memory.trackWrites(true);
  t.same([...memory.takeWrittenPages()].flatMap((v, i) => (v ? [i] : [])), [], 'nothing is recorded before anything is written');
  queue.pushUsed(chain?.head ?? 0, 0x2000);
  const written = [...memory.takeWrittenPages()].flatMap((v, i) => (v ? [i] : []));
  t.same(written, [3, 0x21, 0x22], "once used, its writable buffers' pages and the used ring's page are recorded");
  t.same([...memory.takeWrittenPages()].filter((v) => v).length, 0, 'each take starts a new record');
  memory.trackWrites(false);
  t.notOk(memory.tracksWrites, 'and the record stops');
});

/**
 * A guest that writes one page just before each take of the dirty log while
 * it runs, so every round ends with pages written and not yet sent.
 */
class ScriptedVm {
  readonly memory = GuestMemory.allocate(1 << 20);
  private written = new Uint8Array((1 << 20) / 4096);
  private running = true;
  private takes = 0;
  readonly calls: string[] = [];

  startDirtyLog(): void { this.calls.push('start-log'); }
  stopDirtyLog(): void { this.calls.push('stop-log'); }
  takeDirtyPages(): Uint8Array {
    this.takes++;
    if (this.running) {
      const page = 16 + (this.takes % 8);
      this.memory.mappingBytes(page * 4096, 4096).fill(this.takes);
      this.written[page] = 1;
    }
    const pages = this.written;
    this.written = new Uint8Array(pages.length);
    return pages;
  }
  async pause(): Promise<void> { this.running = false; this.calls.push('pause'); }
  start(): void { this.running = true; this.calls.push('start'); }
  async snapshot<T>(save: (memory: GuestMemory) => Promise<T>): Promise<{ state: VmSavedState; memory: T }> {
    const state: VmSavedState = { vcpus: [], vm: { irqchips: [], pit: new Uint8Array(8), clock: new Uint8Array(8) }, legacy: [], virtio: [] };
    return { state, memory: await save(this.memory) };
  }
  unlockDisks(): void { this.calls.push('unlock'); }
  lockDisks(): void { this.calls.push('lock'); }
}

/** A destination that keeps the memory frames it is sent and says yes to everything. */
async function collectingDestination(size: number): Promise<{ port: number; memory: Uint8Array; done: Promise<void> }> {
  const memory = new Uint8Array(size);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const done = new Promise<void>((resolve, reject) => server.once('connection', (socket: Socket) => {
    server.close();
    const reader = new FrameReader(socket, 'sender');
    void (async () => {
      await reader.expect(FrameType.Hello);
      await writeJson(socket, FrameType.Reply, { ok: true });
      for (let frame = await reader.next(); frame.type === FrameType.Memory; frame = await reader.next()) {
        const { offset, bytes } = readMemoryFrame(frame.payload, 'sender');
        memory.set(bytes, offset);
      }
      await writeJson(socket, FrameType.Reply, { ok: true });
      socket.end();
    })().then(resolve, reject);
  }));
  return { port: (server.address() as AddressInfo).port, memory, done };
}

t.test('pre-copy: the destination ends with every byte of the paused source, whatever the guest wrote between rounds', async (t) => {
  for (const downtime of [1_000_000, 0]) {
    const vm = new ScriptedVm();
    t.teardown(() => vm.memory.free());
    vm.memory.mappingBytes(0, 4096).fill(0xaa);
    const destination = await collectingDestination(1 << 20);
    const config = { memory: { size: 1 << 20 } } as unknown as VmConfig;
    const outcome = await sendMigration(parseEndpoint('destination_url', `tcp:127.0.0.1:${destination.port}`),
      { destination_url: '', downtime_ms: downtime, timeout_s: downtime === 0 ? 0.2 : 60, timeout_strategy: 'Ignore', local: false, preserve_source: false, connections: 1, memory_mode: 'Precopy' },
      { vm: vm as unknown as Vm, config, running: true, report: () => undefined, signal: new AbortController().signal });
    await destination.done;
    t.ok(outcome.rounds >= 2, `rounds: ${outcome.rounds} (downtime_ms=${downtime})`);
    t.ok(Buffer.from(destination.memory).equals(Buffer.from(vm.memory.mappingBytes(0, 1 << 20))), `downtime_ms=${downtime}: the destination's memory is the source's`);
    t.same(vm.calls, ['start-log', 'pause', 'unlock', 'stop-log'], 'the log starts before the first page goes; the disks go after the pause');
  }
});

t.test('a receiver whose sender left mid-way answers its client, listens again and shuts down', async (t) => {
  const { client } = await startClientVmm(t);
  const path = join(mkdtempSync(join(tmpdir(), 'tsvmm-receive-')), 'migration.sock');
  const first = client.receiveMigration({ receiver_url: `unix:${path}` });
  first.catch(() => undefined);
  await waitUntil(() => existsSync(path), 'the receiver listens', 10_000);
  t.same(await client.ping().then(() => 'answered'), 'answered', 'the client is answered while vm.receive-migration waits');
  const sender = connect(path);
  await new Promise((resolve) => sender.once('connect', resolve));
  const size = 64 << 20;
  await writeJson(sender, FrameType.Hello, { ...hello({ memory: { size } }), config: { payload: { kernel: '/dev/null' }, memory: { size } } });
  t.match((await new FrameReader(sender, 'receiver').expect(FrameType.Reply)).toString(), /"ok":true/, 'the receiver takes the hello');
  await writeMemory(sender, 0, new Uint8Array(1 << 20).fill(7));
  sender.destroy();
  await t.rejects(first, { status: 500, code: 'MigrationFailed' }, 'the sender leaving fails vm.receive-migration');

  const again = client.receiveMigration({ receiver_url: `unix:${path}` });
  const ended = again.then(() => undefined, (reason: unknown) => reason);
  await waitUntil(() => existsSync(path), 'the receiver listens again', 10_000);
  t.same(await client.ping().then(() => 'answered'), 'answered', 'and answers meanwhile');
  await client.shutdownVmm();
  const reason = await ended;
  t.ok(reason instanceof ApiError && reason.code === 'MigrationFailed', `vmm.shutdown ends the waiting vm.receive-migration (${String(reason)})`);
});

t.test('network_overrides on the receiver apply to the incoming config, and name an id it lacks', async (t) => {
  const { client } = await startClientVmm(t);
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-receive-'));
  const size = 64 << 20;
  const config = { payload: { kernel: '/dev/null' }, memory: { size }, net: [{ id: '_net0', remote: '127.0.0.1:9', local: '127.0.0.1:9' }] };
  /** Sends a hello to a receiver with `overrides` and returns its reply, then leaves. */
  const helloReply = async (name: string, overrides: Array<{ id: string; local: string }>): Promise<{ reply: string; outcome: unknown }> => {
    const path = join(dir, `${name}.sock`);
    const receiving = client.receiveMigration({ receiver_url: `unix:${path}`, network_overrides: overrides }).then(() => 'ok', (reason: unknown) => reason);
    await waitUntil(() => existsSync(path), 'the receiver listens', 10_000);
    const sender = connect(path);
    await new Promise((resolve) => sender.once('connect', resolve));
    await writeJson(sender, FrameType.Hello, { ...hello({ memory: { size } }), config });
    const reply = (await new FrameReader(sender, 'receiver').expect(FrameType.Reply)).toString();
    sender.destroy();
    return { reply, outcome: await receiving };
  };
  const moved = await helloReply('moved', [{ id: '_net0', local: '127.0.0.1:0' }]);
  t.match(moved.reply, /"ok":true/, 'a NIC given a new local address is taken (the sender still holds the old one)');
  const unknown = await helloReply('unknown', [{ id: 'eth7', local: '127.0.0.1:0' }]);
  t.match(unknown.reply, /"ok":false.*network_overrides\[0\]: the VM has no NIC \\"eth7\\" \(its NICs: _net0\)/, 'an id the VM lacks is refused to the sender, by name');
  t.ok(unknown.outcome instanceof ApiError && /no NIC "eth7"/.test(unknown.outcome.message), `and to the receiving client (${String(unknown.outcome)})`);
});

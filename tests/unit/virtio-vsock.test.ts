// virtio-vsock: the packet header and its checks, the CONNECT line, and the
// device with FakeQueues playing the guest's driver and real UNIX sockets
// playing host programs: connections both ways, data both ways, shutdown,
// resets, credit in both directions, and hostile packet sequences.
import { mkdtempSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import t, { type Test } from 'tap';
import { parseVsock } from '../../src/config/options.js';
import { BUF_ALLOC, HOST_READ_HIGH_WATER } from '../../src/virtio/vsock/connection.js';
import {
  decodeHeader, encodeHeader, HEADER_SIZE, HOST_CID, MAX_PAYLOAD, Op, refuseGuestHeader, ShutdownFlag, TYPE_STREAM, type PacketHeader,
} from '../../src/virtio/vsock/packet.js';
import { parseConnectCommand } from '../../src/virtio/vsock/unix-socket.js';
import { EVENT_QUEUE, RX_QUEUE, TX_QUEUE, VirtioVsock, type VsockOptions } from '../../src/virtio/vsock.js';
import { chain, FakeQueues } from '../helpers/virtio.js';
import { checkProperty } from '../helpers/property.js';
import { waitUntil } from '../helpers/wait.js';

const GUEST_CID = 3n;
const u32 = fc.integer({ min: 0, max: 0xffffffff });

const header = (fields: Partial<PacketHeader>): PacketHeader => ({
  srcCid: GUEST_CID, dstCid: HOST_CID, srcPort: 5000, dstPort: 52, len: 0, type: TYPE_STREAM, op: Op.Rw, flags: 0,
  bufAlloc: BUF_ALLOC, fwdCnt: 0, ...fields,
});

t.test('the header encodes and decodes every field, little-endian, in 44 bytes', async (t) => {
  const arbitrary = fc.record({
    srcCid: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), dstCid: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    srcPort: u32, dstPort: u32, len: u32, type: fc.integer({ min: 0, max: 0xffff }), op: fc.integer({ min: 0, max: 0xffff }),
    flags: u32, bufAlloc: u32, fwdCnt: u32,
  });
  await checkProperty(t, 'vsock header round trip', 'device', 300, arbitrary, (h) => {
    const bytes = encodeHeader(h);
    return bytes.length === HEADER_SIZE && JSON.stringify(decodeHeader(bytes), (_k, v: unknown) => typeof v === 'bigint' ? String(v) : v)
      === JSON.stringify(h, (_k, v: unknown) => typeof v === 'bigint' ? String(v) : v);
  });
  const bytes = encodeHeader(header({ srcPort: 0x01020304 }));
  t.same([...bytes.subarray(16, 20)], [4, 3, 2, 1], 'src_port at offset 16, little-endian');
});

t.test('a guest header is checked field by field', async (t) => {
  t.equal(refuseGuestHeader(header({ len: 10 }), GUEST_CID, 10), undefined, 'a data packet');
  for (const [fields, room, message] of [
    [{ srcCid: 4n }, 0, /source CID 4 is not the guest's/],
    [{ dstCid: 3n }, 0, /destination CID 3 is not the host's/],
    [{ type: 2 }, 0, /socket type 2 is not a stream/],
    [{ op: 0 }, 0, /operation 0 is unknown/],
    [{ op: 8 }, 0, /operation 8 is unknown/],
    [{ op: Op.Request, len: 4 }, 4, /operation 1 carries 4 payload bytes/],
    [{ len: MAX_PAYLOAD + 1 }, MAX_PAYLOAD + 1, /payload length 65537 is over 65536/],
    [{ len: 100 }, 99, /more than the 99 bytes the buffers hold/],
    [{ op: Op.Shutdown, flags: 4 }, 0, /shutdown flags 0x4 are unknown/],
  ] as const) {
    t.match(refuseGuestHeader(header(fields), GUEST_CID, room), message);
  }
});

t.test('the CONNECT line: case, blanks, data after it, and what is refused', async (t) => {
  t.match(parseConnectCommand(Buffer.from('CONNECT 52\nhello')), { port: 52, rest: Buffer.from('hello') });
  t.match(parseConnectCommand(Buffer.from('connect   4294967295 \n')), { port: 4294967295 });
  t.equal(parseConnectCommand(Buffer.from('CONNECT 5')), 'incomplete');
  for (const line of ['CONNECT\n', 'CONNECT 4294967296\n', 'CONNECT -1\n', 'CONNECT 0x10\n', 'OPEN 52\n', `CONNECT ${'1'.repeat(80)}`]) {
    t.equal(parseConnectCommand(Buffer.from(line)), 'invalid', JSON.stringify(line));
  }
});

t.test('--vsock: Cloud Hypervisor\'s keys; socket and cid are required', async (t) => {
  t.same(parseVsock('cid=3,socket=/tmp/v.sock,id=vsock0'), { cid: 3, socket: '/tmp/v.sock', id: 'vsock0' });
  t.throws(() => parseVsock('cid=3'), /--vsock: socket is required/);
  t.throws(() => parseVsock('socket=/tmp/v.sock'), /--vsock: cid is required/);
  t.throws(() => parseVsock('cid=3,socket=/x,port=1'), /--vsock: unknown key "port"/);
});

/** A vsock device on FakeQueues, its socket in a fresh directory. */
async function device(t: Test, options: VsockOptions = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-vsock-'));
  const socketPath = join(dir, 'vsock.sock');
  const vsock = await VirtioVsock.open('vsock0', Number(GUEST_CID), socketPath, options);
  const queues = new FakeQueues();
  vsock.activate(queues);
  t.teardown(() => vsock.close());
  let head = 0;
  const guest = {
    vsock, queues, socketPath,
    /** The guest's driver sends one packet. */
    send(fields: Partial<PacketHeader>, payload: Uint8Array<ArrayBufferLike> = new Uint8Array(0)): void {
      queues.offer(TX_QUEUE, chain([encodeHeader(header({ len: payload.length, ...fields })), payload], [], head++));
      vsock.notify(TX_QUEUE);
    },
    /** Offers `count` rx buffers of `size` payload bytes. */
    offerRx(count = 8, size = 4096): void {
      for (let i = 0; i < count; i++) queues.offer(RX_QUEUE, chain([], [new Uint8Array(HEADER_SIZE + size)], head++));
      vsock.notify(RX_QUEUE);
    },
    /** Every packet the device wrote so far, decoded. */
    received(): Array<{ header: PacketHeader; payload: Uint8Array }> {
      return queues.completions.filter((c) => c.queue === RX_QUEUE).map((c) => {
        const buffer = (queues.taken[RX_QUEUE] ?? []).find((ch) => ch.head === c.head)?.writable[0] as Uint8Array;
        const h = decodeHeader(buffer);
        return { header: h, payload: buffer.slice(HEADER_SIZE, HEADER_SIZE + h.len) };
      });
    },
  };
  return guest;
}

function connectHost(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path, () => resolve(socket));
    socket.once('error', reject);
  });
}

function collect(socket: Socket): { socket: Socket; text: () => string; bytes: () => Buffer; ended: Promise<void> } {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<void>((resolve) => socket.once('end', () => resolve()).once('close', () => resolve()));
  return { socket, text: () => Buffer.concat(chunks).toString(), bytes: () => Buffer.concat(chunks), ended };
}

/** A host program connects and writes `command`; resolves once the device sent the guest its REQUEST. */
async function hostRequest(g: Guest, command: string): Promise<{ fromGuest: ReturnType<typeof collect>; request: PacketHeader }> {
  const host = await connectHost(g.socketPath);
  const fromGuest = collect(host);
  const before = g.received().length;
  host.write(command);
  await waitUntil(() => g.received().length > before, 'the REQUEST', 5000);
  return { fromGuest, request: g.received()[before]?.header as PacketHeader };
}

t.test('host to guest: CONNECT, REQUEST, RESPONSE, OK <port>, data both ways, guest close gets an RST', async (t) => {
  const g = await device(t);
  t.same([...g.vsock.config], [3, 0, 0, 0, 0, 0, 0, 0], 'config space: guest_cid');
  g.offerRx();
  const { fromGuest, request } = await hostRequest(g, 'CONNECT 52\nearly');
  t.match(request, { op: Op.Request, srcCid: HOST_CID, dstCid: GUEST_CID, dstPort: 52, bufAlloc: BUF_ALLOC });
  t.ok(request.srcPort >= 2 ** 30, 'host-initiated ports start at 2^30');
  g.send({ op: Op.Response, srcPort: 52, dstPort: request.srcPort });
  await waitUntil(() => fromGuest.text() === `OK ${request.srcPort}\n`, 'OK <host port>', 5000);
  await waitUntil(() => g.received().some((p) => p.header.op === Op.Rw), 'the bytes sent with CONNECT', 5000);
  t.equal(Buffer.from(g.received().find((p) => p.header.op === Op.Rw)?.payload ?? []).toString(), 'early');
  g.send({ op: Op.Rw, srcPort: 52, dstPort: request.srcPort }, Buffer.from('from the guest'));
  await waitUntil(() => fromGuest.text().endsWith('from the guest'), 'guest data on the host socket', 5000);
  g.send({ op: Op.Shutdown, flags: ShutdownFlag.Receive | ShutdownFlag.Send, srcPort: 52, dstPort: request.srcPort });
  await waitUntil(() => g.received().some((p) => p.header.op === Op.Rst), 'the RST that frees the guest socket', 5000);
  await fromGuest.ended;
  t.match(g.vsock.counters(), { connections_opened: 1, connections_active: 0, tx_bytes: 14, rx_bytes: 5 });
});

t.test('host to guest: a guest that resets the REQUEST (nothing listens) closes the host socket', async (t) => {
  const g = await device(t);
  g.offerRx();
  const { fromGuest, request } = await hostRequest(g, 'CONNECT 99\n');
  g.send({ op: Op.Rst, srcPort: 99, dstPort: request.srcPort });
  await fromGuest.ended;
  t.equal(fromGuest.text(), '', 'no OK line');
  t.match(g.vsock.counters(), { resets_received: 1, connections_active: 0 });
});

t.test('closing the device closes host programs that never sent CONNECT or still hold a connection', async (t) => {
  const g = await device(t);
  g.offerRx();
  const silent = collect(await connectHost(g.socketPath));
  const { fromGuest: held, request } = await hostRequest(g, 'CONNECT 52\n');
  g.send({ op: Op.Response, srcPort: 52, dstPort: request.srcPort });
  await waitUntil(() => held.text().startsWith('OK '), 'OK', 5000);
  await g.vsock.close();
  await Promise.all([silent.ended, held.ended]);
  t.pass('close() returned and both host sockets were closed');
});

t.test('host to guest: a guest that never answers the REQUEST: the host socket is closed after the timeout', async (t) => {
  const g = await device(t, { requestTimeoutMs: 200 });
  g.offerRx();
  const host = await connectHost(g.socketPath);
  const fromGuest = collect(host);
  host.write('CONNECT 52\n');
  await fromGuest.ended;
  t.equal(fromGuest.text(), '', 'no OK');
  t.match(g.received().map((p) => p.header.op), [Op.Request, Op.Rst], 'the guest is told the request is withdrawn');
  t.match(g.vsock.counters(), { connections_refused: 1, connections_active: 0 });
});

t.test('a bad CONNECT line closes the host socket without a word to the guest', async (t) => {
  const g = await device(t);
  g.offerRx();
  const host = await connectHost(g.socketPath);
  const fromGuest = collect(host);
  host.write('HELLO\n');
  await fromGuest.ended;
  t.equal(g.received().length, 0);
});

async function hostListener(path: string): Promise<{ server: Server; accepted: Promise<Socket> }> {
  // tsvmm resets connections under these tests: the host programs' sockets see ECONNRESET.
  const server = createServer((socket) => socket.on('error', () => {}));
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { server, accepted };
}

type Guest = Awaited<ReturnType<typeof device>>;

/** The guest (port 7777) connects to the host program on PATH_1234; resolves with that program's socket once RESPONSE came. */
async function guestConnection(t: Test, g: Guest, bufAlloc = BUF_ALLOC, rxBuffers = 8): Promise<Socket> {
  const { server, accepted } = await hostListener(`${g.socketPath}_1234`);
  t.teardown(() => server.close());
  g.offerRx(rxBuffers, 4096);
  g.send({ op: Op.Request, srcPort: 7777, dstPort: 1234, bufAlloc });
  const peer = await accepted;
  await waitUntil(() => g.received().some((p) => p.header.op === Op.Response), 'the RESPONSE', 5000);
  return peer;
}

t.test('guest to host: REQUEST to port P reaches PATH_P; RESPONSE; data both ways; host end is a SHUTDOWN', async (t) => {
  const g = await device(t);
  const fromGuest = collect(await guestConnection(t, g));
  t.match(g.received()[0]?.header, { op: Op.Response, srcPort: 1234, dstPort: 7777, dstCid: GUEST_CID });
  g.send({ op: Op.Rw, srcPort: 7777, dstPort: 1234 }, Buffer.from('ping'));
  await waitUntil(() => fromGuest.text() === 'ping', 'guest data at the host program', 5000);
  fromGuest.socket.end('pong');
  await waitUntil(() => g.received().some((p) => p.header.op === Op.Shutdown), 'SHUTDOWN after the data', 5000);
  const packets = g.received();
  t.equal(Buffer.from(packets.find((p) => p.header.op === Op.Rw)?.payload ?? []).toString(), 'pong');
  t.equal(packets.at(-1)?.header.flags, ShutdownFlag.Send, 'the host will send no more');
});

t.test('guest to host: nobody listens on PATH_P, so the REQUEST gets an RST', async (t) => {
  const g = await device(t);
  g.offerRx();
  g.send({ op: Op.Request, srcPort: 7777, dstPort: 4321 });
  await waitUntil(() => g.received().some((p) => p.header.op === Op.Rst), 'the RST', 5000);
  t.match(g.received()[0]?.header, { op: Op.Rst, srcPort: 4321, dstPort: 7777 });
  t.match(g.vsock.counters(), { connections_refused: 1, connections_active: 0 });
});

t.test('credit: the host never sends past the guest\'s buf_alloc, and stops reading the host socket', async (t) => {
  const g = await device(t);
  const GUEST_BUFFER = 10_000; // not a multiple of the rx buffers: the last packet is cut by credit
  const peer = await guestConnection(t, g, GUEST_BUFFER, 64);
  // The host program writes far more than the guest will take.
  let written = 0;
  const chunk = Buffer.alloc(64 * 1024, 7);
  while (peer.write(chunk)) written += chunk.length;
  written += chunk.length;
  await waitUntil(() => g.received().some((p) => p.header.op === Op.CreditRequest), 'a CREDIT_REQUEST once the credit is spent', 5000);
  const delivered = (): number => g.received().filter((p) => p.header.op === Op.Rw).reduce((n, p) => n + p.payload.length, 0);
  t.equal(delivered(), GUEST_BUFFER, 'exactly the guest\'s buffer was sent');
  t.ok(peer.writableLength > 0 || written > HOST_READ_HIGH_WATER * 2, 'the host program is held back, not buffered without bound');
  // The guest reads it all and says so: more flows.
  g.send({ op: Op.CreditUpdate, srcPort: 7777, dstPort: 1234, bufAlloc: GUEST_BUFFER, fwdCnt: GUEST_BUFFER });
  await waitUntil(() => delivered() === 2 * GUEST_BUFFER, 'the next credit\'s worth', 5000);
  // Linux also reports what it consumed on its data packets: that credit counts as much.
  g.send({ op: Op.Rw, srcPort: 7777, dstPort: 1234, bufAlloc: GUEST_BUFFER, fwdCnt: 2 * GUEST_BUFFER }, Buffer.from('x'));
  await waitUntil(() => delivered() === 3 * GUEST_BUFFER, 'the credit a data packet carried', 5000);
});

t.test('credit: a guest that spent its credit learns of the space the host program freed, unasked', async (t) => {
  const g = await device(t);
  const fromGuest = collect(await guestConnection(t, g));
  const payload = new Uint8Array(4096);
  for (let sent = 0; sent < BUF_ALLOC; sent += payload.length) g.send({ op: Op.Rw, srcPort: 7777, dstPort: 1234 }, payload);
  await waitUntil(() => fromGuest.bytes().length === BUF_ALLOC, 'everything at the host program', 5000);
  // Linux waits for space without asking: what it last heard must leave it at least half the buffer.
  const lastFwdCnt = (): number => g.received().at(-1)?.header.fwdCnt ?? 0;
  await waitUntil(() => lastFwdCnt() >= BUF_ALLOC / 2, 'a credit update with half the buffer free', 5000);
  t.equal(g.received().at(-1)?.header.op, Op.CreditUpdate);
});

t.test('credit: a guest that sends past tsvmm\'s buf_alloc is reset', async (t) => {
  const g = await device(t);
  (await guestConnection(t, g)).pause(); // the host program reads nothing, so nothing is consumed
  const payload = new Uint8Array(MAX_PAYLOAD);
  for (let sent = 0; sent <= BUF_ALLOC; sent += payload.length) g.send({ op: Op.Rw, srcPort: 7777, dstPort: 1234 }, payload);
  await waitUntil(() => g.received().some((p) => p.header.op === Op.Rst), 'the RST', 5000);
  t.match(g.vsock.counters(), { protocol_errors: 1, connections_active: 0 });
});

t.test('hostile packet sequences: never a throw, credit always kept, bounded state', async (t) => {
  const packet = fc.record({
    op: fc.integer({ min: 0, max: 9 }), srcPort: fc.integer({ min: 1, max: 4 }), dstPort: fc.constantFrom(1234, 52, 2 ** 30 + 1),
    srcCid: fc.constantFrom(GUEST_CID, 5n), dstCid: fc.constantFrom(HOST_CID, 3n), type: fc.constantFrom(TYPE_STREAM, 2),
    flags: fc.integer({ min: 0, max: 7 }), bufAlloc: fc.constantFrom(0, 1, 4096, 0xffffffff), fwdCnt: u32, len: fc.integer({ min: 0, max: 5000 }),
  });
  const g = await device(t);
  const { server } = await hostListener(`${g.socketPath}_1234`);
  server.on('connection', (socket: Socket) => socket.end(Buffer.alloc(100_000, 1)));
  t.teardown(() => server.close());
  // Host programs waiting on guest ports 1-4: their connections are 'requesting' when the packets come.
  g.offerRx(4, 2048);
  const hosts = await Promise.all([1, 2, 3, 4].map(async (port) => {
    const host = await connectHost(g.socketPath);
    host.on('error', () => {});
    host.write(`CONNECT ${port}\n`);
    return host;
  }));
  t.teardown(() => hosts.forEach((host) => host.destroy()));
  await waitUntil(() => g.received().filter((p) => p.header.op === Op.Request).length === 4, 'four REQUESTs', 5000);
  await checkProperty(t, 'vsock hostile packets', 'device', 40, fc.array(packet, { maxLength: 30 }), async (packets) => {
    for (const p of packets) {
      g.offerRx(1, 2048);
      g.send(p, new Uint8Array(p.op === Op.Rw ? p.len : 0));
    }
    await new Promise((resolve) => setImmediate(resolve));
    const counters = g.vsock.counters();
    return counters.connections_active !== undefined && counters.connections_active <= 4 * 3
      && g.received().every((r) => r.header.len <= 2048 && r.header.srcCid === HOST_CID);
  });
  t.equal(g.queues.failure, undefined, 'the device never failed its queues');
});

t.test('transport reset (after a restore): every connection dropped, the event written to the event queue', async (t) => {
  const g = await device(t);
  const peer = await guestConnection(t, g);
  const closed = new Promise((resolve) => peer.once('close', resolve));
  const event = chain([], [new Uint8Array(4).fill(0xff)], 900);
  g.queues.offer(EVENT_QUEUE, event);
  g.vsock.transportReset();
  t.same(g.queues.completions.at(-1), { queue: EVENT_QUEUE, head: 900, written: 4 });
  t.same([...(event.writable[0] as Uint8Array)], [0, 0, 0, 0], 'VIRTIO_VSOCK_EVENT_TRANSPORT_RESET');
  t.equal(g.vsock.counters().connections_active, 0);
  await closed;
});

/**
 * A guest driver that keeps credit the way Linux's virtio transport does: a
 * 256 KiB receive buffer per connection, fwd_cnt on every packet it sends,
 * a CREDIT_UPDATE only when its free space falls under 64 KiB, and no
 * CREDIT_REQUEST when its own credit runs out (it waits). Its application
 * echoes every byte back as soon as the host's credit allows.
 */
class LinuxLikeEchoGuest {
  private static readonly BUFFER = 256 * 1024;
  private seen = 0;
  private readonly pending: Uint8Array<ArrayBufferLike>[] = [];
  private pendingBytes = 0;
  private consumed = 0;
  private lastFwdSent = 0;
  private hostBufAlloc = 0;
  private hostFwdCnt = 0;
  private sentToHost = 0;
  private hostPort = 0;

  constructor(private readonly g: Guest, private readonly port: number) {}

  /** Handles what the device wrote since the last call, then refills the rx queue. */
  step(): void {
    const packets = this.g.received();
    for (const { header, payload } of packets.slice(this.seen)) this.handle(header, payload);
    this.seen = packets.length;
    this.echo();
    this.g.offerRx(Math.max(0, 16 - (this.g.queues.offered[RX_QUEUE]?.length ?? 0)), 4096);
  }

  private handle(header: PacketHeader, payload: Uint8Array): void {
    this.hostBufAlloc = header.bufAlloc;
    this.hostFwdCnt = header.fwdCnt;
    if (header.op === Op.Request && header.dstPort === this.port) {
      this.hostPort = header.srcPort;
      this.send(Op.Response);
    } else if (header.op === Op.Rw) {
      this.pending.push(payload);
      this.pendingBytes += payload.length;
    } else if (header.op === Op.CreditRequest) {
      this.send(Op.CreditUpdate);
    }
  }

  /** The application reads what arrived and writes it back, as far as the host's credit goes. */
  private echo(): void {
    for (;;) {
      const credit = this.hostBufAlloc - (this.sentToHost - this.hostFwdCnt);
      const chunk = this.pending[0];
      if (!chunk || credit <= 0) break;
      const take = Math.min(chunk.length, credit, 4096);
      this.sentToHost += take;
      this.consumed += take;
      this.send(Op.Rw, chunk.subarray(0, take));
      if (take === chunk.length) this.pending.shift();
      else this.pending[0] = chunk.subarray(take);
      this.pendingBytes -= take;
    }
    // Linux's rule: an update once what it consumed without saying so leaves the peer under 64 KiB.
    if (LinuxLikeEchoGuest.BUFFER - (this.consumed - this.lastFwdSent) < 64 * 1024) this.send(Op.CreditUpdate);
  }

  private send(op: number, payload: Uint8Array<ArrayBufferLike> = new Uint8Array(0)): void {
    this.lastFwdSent = this.consumed;
    this.g.send({ op, srcPort: this.port, dstPort: this.hostPort, bufAlloc: LinuxLikeEchoGuest.BUFFER, fwdCnt: this.consumed }, payload);
  }
}

t.test('a host program echoes 4 MiB through a guest that keeps credit as Linux does: no stall, every byte back', async (t) => {
  const g = await device(t);
  const guest = new LinuxLikeEchoGuest(g, 5000);
  const stepper = setInterval(() => guest.step(), 1);
  t.teardown(() => clearInterval(stepper));
  g.offerRx(16, 4096);
  const host = await connectHost(g.socketPath);
  const back = collect(host);
  host.write('CONNECT 5000\n');
  await waitUntil(() => back.text().startsWith('OK '), 'OK', 5000);
  const payload = Buffer.from(Array.from({ length: 4 * 2 ** 20 }, (_, i) => (i * 7 + (i >> 12)) & 0xff));
  host.write(payload);
  const expected = back.bytes().length + payload.length;
  await waitUntil(() => back.bytes().length >= expected, `the echo (${back.bytes().length} of ${expected} bytes)`, 20_000);
  t.ok(back.bytes().subarray(back.bytes().length - payload.length).equals(payload), 'every byte came back in order');
  t.equal(g.vsock.counters().protocol_errors, 0);
});

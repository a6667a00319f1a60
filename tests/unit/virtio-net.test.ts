// virtio-net over a fake backend: transmit, receive with and without
// merged buffers, the backlog and its drop count, hostile receive chains;
// then the UDP tunnel and TAP backends on this host, and --net parsing.
import { existsSync, readFileSync } from 'node:fs';
import t from 'tap';
import { parseEndpoint, parseMac } from '../../src/virtio/net/address.js';
import type { NetBackend } from '../../src/virtio/net/backend.js';
import { Tap } from '../../src/virtio/net/tap.js';
import { UdpTunnel } from '../../src/virtio/net/udp-tunnel.js';
import { parseNet } from '../../src/config/options.js';
import { validateNet } from '../../src/config/rules.js';
import type { NetConfig } from '../../src/config/schema.js';
import { BACKLOG_FRAMES, NET_HEADER_SIZE, NetFeature, RX_QUEUE, TX_QUEUE, VirtioNet } from '../../src/virtio/net.js';
import { freeUdpPorts } from '../helpers/net.js';
import { chain, FakeQueues } from '../helpers/virtio.js';

const MAC = '52:54:00:ab:cd:ef';
const MERGEABLE = 1n << BigInt(NetFeature.MrgRxbuf);

class FakeBackend implements NetBackend {
  sent: Uint8Array[] = [];
  receive: (frame: Uint8Array) => void = () => {};
  paused = false;
  accept = true;
  start(receive: (frame: Uint8Array) => void): void { this.receive = receive; }
  send(frame: Uint8Array): boolean {
    if (this.accept) this.sent.push(frame);
    return this.accept;
  }
  pauseReceive(): void { this.paused = true; }
  resumeReceive(): void { this.paused = false; }
  resolved(): Partial<NetConfig> { return { local: '127.0.0.1:1' }; }
  counters(): Record<string, number> { return {}; }
  async close(): Promise<void> {}
}

function nic(features = MERGEABLE) {
  const backend = new FakeBackend();
  const device = new VirtioNet('net0', parseMac('mac', MAC), backend);
  const queues = new FakeQueues();
  device.activate(queues, features);
  return { backend, device, queues };
}

const frame = (length: number, seed = 0): Uint8Array => Uint8Array.from({ length }, (_, i) => (i + seed) % 256);
const rxBuffer = (size: number, head: number) => chain([], [new Uint8Array(size)], head);

t.test('config space: MAC and link up; features: MAC, STATUS, MRG_RXBUF', async (t) => {
  const { device } = nic();
  t.same([...device.config.subarray(0, 6)], [0x52, 0x54, 0x00, 0xab, 0xcd, 0xef]);
  t.equal(new DataView(device.config.buffer).getUint16(6, true), 1, 'VIRTIO_NET_S_LINK_UP');
  t.equal(device.features, (1n << 5n) | (1n << 15n) | (1n << 16n));
});

t.test('transmit strips the header, gathers the frame from every buffer, and counts', async (t) => {
  const { backend, device, queues } = nic();
  const data = frame(100);
  queues.offer(TX_QUEUE, chain([new Uint8Array(NET_HEADER_SIZE), data.subarray(0, 30), data.subarray(30)], [], 7));
  queues.offer(TX_QUEUE, chain([new Uint8Array(8)], [], 8)); // shorter than the header
  device.notify(TX_QUEUE);
  t.same(backend.sent, [data]);
  t.same(queues.completions, [{ queue: TX_QUEUE, head: 7, written: 0 }, { queue: TX_QUEUE, head: 8, written: 0 }]);
  backend.accept = false;
  queues.offer(TX_QUEUE, chain([new Uint8Array(NET_HEADER_SIZE + 60)], [], 9));
  device.notify(TX_QUEUE);
  t.match(device.counters(), { tx_frames: 1, tx_bytes: 100, tx_dropped: 2 });
});

t.test('receive writes header and frame into one chain, num_buffers 1', async (t) => {
  const { backend, device, queues } = nic();
  const buffer = rxBuffer(2048, 3);
  queues.offer(RX_QUEUE, buffer);
  backend.receive(frame(1514));
  const [completion] = queues.completions;
  t.same(completion, { queue: RX_QUEUE, head: 3, written: NET_HEADER_SIZE + 1514 });
  const bytes = buffer.writable[0] as Uint8Array;
  t.equal(new DataView(bytes.buffer).getUint16(10, true), 1, 'num_buffers');
  t.same(bytes.subarray(NET_HEADER_SIZE, NET_HEADER_SIZE + 1514), frame(1514));
  t.match(device.counters(), { rx_frames: 1, rx_bytes: 1514, rx_dropped: 0 });
});

t.test('with MRG_RXBUF a frame larger than one chain spreads over several', async (t) => {
  const { backend, queues } = nic();
  const chains = [rxBuffer(1000, 0), rxBuffer(1000, 1), rxBuffer(1000, 2)];
  queues.offer(RX_QUEUE, ...chains);
  backend.receive(frame(1800, 5));
  t.same(queues.completions.map((c) => [c.head, c.written]), [[0, 1000], [1, 812]], 'two chains used, the third left');
  const first = chains[0]?.writable[0] as Uint8Array;
  t.equal(new DataView(first.buffer).getUint16(10, true), 2, 'num_buffers 2');
  const joined = new Uint8Array([...first.subarray(NET_HEADER_SIZE), ...(chains[1]?.writable[0] as Uint8Array).subarray(0, 812)]);
  t.same(joined, frame(1800, 5));
  t.equal(queues.offered[RX_QUEUE]?.length, 1, 'the unused chain is still offered');
});

t.test('without MRG_RXBUF, a buffer too small for the frame drops it (counted)', async (t) => {
  const { backend, device, queues } = nic(0n);
  queues.offer(RX_QUEUE, rxBuffer(100, 0));
  backend.receive(frame(200));
  t.equal(queues.completions.length, 0);
  t.match(device.counters(), { rx_dropped: 1 });
});

t.test('no receive buffers: frames wait in the backlog, the backend is paused, then they drain in order', async (t) => {
  const { backend, device, queues } = nic();
  backend.receive(frame(60, 1));
  backend.receive(frame(60, 2));
  t.ok(backend.paused, 'backend paused while frames wait');
  t.equal(queues.completions.length, 0);
  queues.offer(RX_QUEUE, rxBuffer(1526, 0));
  device.notify(RX_QUEUE);
  t.equal(queues.completions.length, 1, 'one buffer, one frame');
  t.ok(backend.paused, 'still paused: one frame waits');
  queues.offer(RX_QUEUE, rxBuffer(1526, 1), rxBuffer(1526, 2));
  device.notify(RX_QUEUE);
  t.equal(queues.completions.length, 2);
  t.notOk(backend.paused, 'resumed once the backlog is empty');
  t.equal(queues.offered[RX_QUEUE]?.length, 1, 'a chain is left for the next frame');
  for (let i = 0; i < BACKLOG_FRAMES + 10; i++) backend.receive(frame(60, i));
  t.match(device.counters(), { rx_frames: 3, rx_dropped: 9 }, 'one delivered, a full backlog, then drops counted');
});

t.test('a receive chain with device-readable buffers makes the device fail', async (t) => {
  const { backend, queues } = nic();
  queues.offer(RX_QUEUE, chain([new Uint8Array(16)], [new Uint8Array(2048)]));
  backend.receive(frame(60));
  t.match(String(queues.failure), /not a device-writable buffer/);
});

t.test('a reset empties the backlog and resumes the backend', async (t) => {
  const { backend, device } = nic();
  backend.receive(frame(60));
  t.ok(backend.paused);
  device.reset();
  t.notOk(backend.paused);
  const queues = new FakeQueues();
  device.activate(queues, MERGEABLE);
  queues.offer(RX_QUEUE, rxBuffer(2048, 0));
  device.notify(RX_QUEUE);
  t.equal(queues.completions.length, 0, 'nothing stale delivered after the reset');
});

t.test('two UDP tunnels exchange frames and take datagrams from their remote only', async (t) => {
  const a = await UdpTunnel.open('a', { remote: '127.0.0.1:9', local: '127.0.0.1:0' });
  const portA = parseEndpoint('a', a.resolved().local ?? '').port;
  t.not(portA, 0, 'port 0 picked a port');
  const b = await UdpTunnel.open('b', { remote: `127.0.0.1:${portA}`, local: '127.0.0.1:0' });
  const portB = parseEndpoint('b', b.resolved().local ?? '').port;
  await a.close();
  const a2 = await UdpTunnel.open('a', { remote: `127.0.0.1:${portB}`, local: `127.0.0.1:${portA}` });
  t.teardown(async () => { await a2.close(); await b.close(); });
  const received: Uint8Array[] = [];
  const arrived = new Promise<void>((resolve) => b.start((f) => { received.push(new Uint8Array(f)); if (received.length === 2) resolve(); }));
  a2.start(() => {});
  t.ok(a2.send(frame(1514, 1)));
  t.ok(a2.send(frame(60, 2)));
  await arrived;
  t.same(received, [frame(1514, 1), frame(60, 2)]);

  const stranger = await UdpTunnel.open('c', { remote: `127.0.0.1:${portB}`, local: '127.0.0.1:0' });
  const lengths: number[] = [];
  const remoteFrame = new Promise<void>((resolve) => b.start((f) => { lengths.push(f.length); if (f.length === 61) resolve(); }));
  stranger.send(frame(60));
  a2.send(frame(61));
  await remoteFrame;
  t.same(lengths, [61], "a datagram from elsewhere is not taken, though it was sent first");
  await stranger.close();
  await t.rejects(UdpTunnel.open('d', { remote: '127.0.0.1:9', local: `127.0.0.1:${portB}` }), /cannot bind 127\.0\.0\.1:\d+: EADDRINUSE/);
});

t.test('a UDP tunnel whose remote is not up yet counts the refused frames and carries frames once it is', async (t) => {
  const [portB] = await freeUdpPorts(1) as [number];
  const a = await UdpTunnel.open('a', { remote: `127.0.0.1:${portB}`, local: '127.0.0.1:0' });
  t.teardown(() => a.close());
  a.start(() => {});
  for (let i = 0; i < 1000 && a.counters().tx_errors === 0; i++) {
    a.send(frame(60));
    await new Promise((resolve) => setImmediate(resolve));
  }
  t.ok((a.counters().tx_errors ?? 0) > 0, 'the kernel refused frames while nothing listened');
  const b = await UdpTunnel.open('b', { remote: a.resolved().local ?? '', local: `127.0.0.1:${portB}` });
  t.teardown(() => b.close());
  let received: Uint8Array | undefined;
  b.start((f) => { received = new Uint8Array(f); });
  // A refusal still pending in a's socket fails one more send; the next frame goes through.
  for (let i = 0; i < 1000 && received === undefined; i++) {
    t.ok(a.send(frame(1514, 3)), 'the frame is taken');
    await new Promise((resolve) => setImmediate(resolve));
  }
  t.same(received, frame(1514, 3));
});

t.test('a UDP tunnel that cannot reach its remote is a config error naming it', async (t) => {
  await t.rejects(UdpTunnel.open('net9', { remote: '255.255.255.255:4000' }), { message: /net9: cannot send to 255\.255\.255\.255:4000: EACCES/ });
});

t.test('a TAP interface is created, addressed and brought up', { skip: existsSync('/dev/net/tun') && process.getuid?.() === 0 ? false : 'needs /dev/net/tun and root' }, async (t) => {
  const tap = Tap.open('net0', { ip: '192.168.251.1', mask: '255.255.255.0' });
  const name = tap.resolved().tap ?? '';
  t.match(name, /^tap\d+$/);
  t.ok(existsSync(`/sys/class/net/${name}`));
  t.equal(Number(readFileSync(`/sys/class/net/${name}/flags`, 'utf8')) & 1, 1, 'IFF_UP');
  await tap.close();
  t.notOk(existsSync(`/sys/class/net/${name}`), 'a created TAP goes away with its fd');
  t.throws(() => Tap.open('net1', { tap: 'x'.repeat(15), ip: '300.1.1.1' }), /cannot configure/);
});

t.test('--net option strings', async (t) => {
  t.same(parseNet('tap=,mac=52:54:00:00:00:02'), { mac: '52:54:00:00:00:02' }, 'an empty value is unset');
  t.same(parseNet('tap=tap7,ip=192.168.1.1,mask=255.255.255.0,id=lan'), { tap: 'tap7', ip: '192.168.1.1', mask: '255.255.255.0', id: 'lan' });
  t.same(parseNet('remote=127.0.0.1:4000,local=127.0.0.1:0'), { remote: '127.0.0.1:4000', local: '127.0.0.1:0' });
  t.same(parseNet('remote=[::1]:4000'), { remote: '[::1]:4000' });
  const bad: Array<[string, RegExp]> = [
    ['remote=127.0.0.1:4000,tap=tap0', /tap is for TAP interfaces/],
    ['remote=localhost:4000', /does not name an IP address/],
    ['remote=127.0.0.1:0', /remote port must not be 0/],
    ['remote=127.0.0.1:70000', /is not HOST:PORT/],
    ['remote=127.0.0.1:4000,local=[::1]:0', /both be IPv4 or both IPv6/],
    ['local=127.0.0.1:4000', /needs remote/],
    ['mac=01:00:00:00:00:01', /multicast/],
    ['mac=52:54:00', /not a MAC address/],
    ['ip=10.0.0.256', /not an IPv4 address/],
    ['tap=a-name-that-is-too-long', /longer than 15 bytes/],
    ['queue_size=100', /queue_size: 100 is not a power of two/],
  ];
  for (const [text, message] of bad) t.throws(() => validateNet(parseNet(text), 'net[0]'), message, text);
  t.throws(() => parseNet('cache=none'), /unknown key "cache"/);
});

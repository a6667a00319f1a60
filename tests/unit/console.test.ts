// The console's replay ring and input back-pressure, and the parsers of
// --event-monitor and tcp console addresses.
import t from 'tap';
import { InputPump } from '../../src/console/input-pump.js';
import { OutputRing } from '../../src/console/ring.js';
import { parseEventMonitor } from '../../src/events/monitor-file.js';
import { eventLine, eventRecord } from '../../src/events/record.js';
import { parseTcpConsole } from '../../src/config/rules.js';

const bytes = (text: string): Uint8Array => Buffer.from(text);
const text = (data: Uint8Array): string => Buffer.from(data).toString();

t.test('the ring keeps the most recent bytes, oldest first', async (t) => {
  const ring = new OutputRing(8);
  t.equal(text(ring.contents()), '');
  ring.append(bytes('abc'));
  t.equal(text(ring.contents()), 'abc');
  ring.append(bytes('defgh'));
  t.equal(text(ring.contents()), 'abcdefgh', 'full');
  ring.append(bytes('ij'));
  t.equal(text(ring.contents()), 'cdefghij', 'wrapped: the oldest two are gone');
  ring.append(bytes('0123456789xyz'));
  t.equal(text(ring.contents()), '56789xyz', 'a write larger than the ring keeps its tail');
  for (const c of 'klmnopq') ring.append(bytes(c));
  t.equal(text(ring.contents()), 'zklmnopq', 'byte by byte across the wrap');
});

t.test('input the device cannot take waits, pauses the client, and is offered again', async (t) => {
  const taken: string[] = [];
  let room = 2;
  const flow: string[] = [];
  const pump = new InputPump((data) => {
    const n = Math.min(room, data.length);
    taken.push(text(data.subarray(0, n)));
    room -= n;
    return n;
  }, { pause: () => flow.push('pause'), resume: () => flow.push('resume') });
  pump.push(bytes('hello'));
  await new Promise((resolve) => setImmediate(resolve));
  t.same(taken, ['he']);
  t.same(flow, ['pause'], 'the client is paused while bytes wait');
  room = 10;
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.same(taken.join(''), 'hello', 'nothing lost, nothing repeated');
  t.same(flow.at(-1), 'resume');
  pump.close();
  pump.push(bytes('late'));
  t.equal(taken.join(''), 'hello', 'a closed pump takes no more');
});

t.test('--event-monitor and tcp console addresses', async (t) => {
  t.same(parseEventMonitor('path=/tmp/e.json'), { path: '/tmp/e.json' });
  t.same(parseEventMonitor('/tmp/e.json'), { path: '/tmp/e.json' });
  t.same(parseEventMonitor('fd=3'), { fd: 3 });
  t.throws(() => parseEventMonitor('fd=3,path=/x'), /exactly one of/);
  t.throws(() => parseEventMonitor('path='), /exactly one of path= or fd=/);
  t.throws(() => parseEventMonitor('fd=-1'), /fd/);
  t.throws(() => parseEventMonitor('socket=/x'), /unknown key "socket"/);
  t.same(parseTcpConsole('tcp', '4555'), { host: '127.0.0.1', port: 4555, family: 4 }, 'a bare port is loopback');
  t.same(parseTcpConsole('tcp', '[::1]:0'), { host: '::1', port: 0, family: 6 });
});

t.test('an event is one line of JSON in Cloud Hypervisor\'s shape', async (t) => {
  const record = eventRecord('virtio-device', 'activated', { id: 'disk0' });
  t.match(record, { source: 'virtio-device', event: 'activated', properties: { id: 'disk0' } });
  t.ok(Number.isInteger(record.timestamp.secs) && record.timestamp.nanos >= 0 && record.timestamp.nanos < 1e9);
  t.equal(eventRecord('vm', 'booted').properties, null);
  const line = eventLine(record);
  t.equal(line.indexOf('\n'), line.length - 1, 'exactly one newline, at the end');
  t.same(JSON.parse(line), record);
});

t.test('the serial port and the virtio console cannot share a socket or a tcp port', async (t) => {
  const { validateVmConfig } = await import('../../src/config/rules.js');
  const config = (serial: object, console: object): Parameters<typeof validateVmConfig>[0] => ({
    payload: { kernel: 'k' }, cpus: { boot_vcpus: 1, max_vcpus: 1 }, memory: { size: 2 ** 27 }, pvpanic: false, serial, console,
  } as Parameters<typeof validateVmConfig>[0]);
  t.doesNotThrow(() => validateVmConfig(config({ mode: 'Tty' }, { mode: 'Tty' })), 'both on the tty, as Cloud Hypervisor allows');
  t.throws(() => validateVmConfig(config({ mode: 'Socket', socket: '/s' }, { mode: 'Socket', socket: '/s' })), /cannot share socket/);
  t.throws(() => validateVmConfig(config({ mode: 'Tcp', tcp: '4000' }, { mode: 'Tcp', tcp: '4000' })), /cannot share tcp/);
  t.doesNotThrow(() => validateVmConfig(config({ mode: 'Tcp', tcp: '0' }, { mode: 'Tcp', tcp: '0' })), 'port 0 twice is two ports');
  t.doesNotThrow(() => validateVmConfig(config({ mode: 'Tty' }, { mode: 'Pty' })));
  t.throws(() => validateVmConfig(config({ mode: 'Socket' }, { mode: 'Off' })), /Socket mode needs socket/);
});

// Events on a real VM (the CPL3 test guest): each life-cycle step, device
// activation and reset, and a guest panic appear in the event-monitor file
// and on GET /vmm.events, in the same order; a listener that never reads is
// dropped without holding the VMM back.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { TsvmmClient, type EventRecord, type VmConfig } from '../../src/api/client.js';
import { MAX_UNREAD_BYTES } from '../../src/api/event-stream.js';
import { ApiVmm } from '../helpers/api.js';
import { testGuest, testGuestCmdline } from '../helpers/test-guest.js';
import { skipWithoutKvm } from '../helpers/tsvmm.js';
import { sleep, waitUntil } from '../helpers/wait.js';

const name = (record: EventRecord): string => `${record.source}:${record.event}`;

function guestConfig(cmdline: string, disk: string): VmConfig {
  return {
    payload: { kernel: testGuest(), cmdline: testGuestCmdline(cmdline) },
    memory: { size: 64 * 2 ** 20 },
    serial: { mode: 'Null' },
    disks: [{ path: disk, id: 'disk0' }],
    pvpanic: true, // off by default, as in Cloud Hypervisor
  };
}

function readMonitor(path: string): EventRecord[] {
  return readFileSync(path, 'utf8').split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as EventRecord);
}

if (!skipWithoutKvm(t, import.meta.url)) {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-events-'));
  const disk = join(dir, 'disk.img');
  writeFileSync(disk, Buffer.alloc(1024 * 1024));

  t.test('every life-cycle event, device activation and a guest panic, in the file and the stream', async (t) => {
    const monitorPath = join(dir, 'events.json');
    const vmm = await ApiVmm.start(['--event-monitor', `path=${monitorPath}`]);
    t.teardown(() => vmm.stop());
    const client = new TsvmmClient(vmm.socketPath);
    t.teardown(() => client.close());
    const streamed: EventRecord[] = [];
    const abort = new AbortController();
    const following = (async () => { for await (const record of client.events(abort.signal)) streamed.push(record); })();
    await sleep(200); // the stream is open before the first request

    await client.create(guestConfig('test=idle', disk));
    await client.boot();
    await client.pause();
    await client.resume();
    await client.reboot();
    await client.shutdown();
    await client.delete();
    await client.create(guestConfig('test=blk mode=read bs=4096 qd=1 total=64K', disk));
    await client.boot();
    await waitUntil(() => streamed.some((r) => name(r) === 'vm:shutdown' && r.properties?.reason === 'poweroff'), 'the blk test to end', 30_000);
    await client.delete();
    await client.create(guestConfig('test=panic', disk));
    await client.boot();
    await waitUntil(() => streamed.some((r) => name(r) === 'guest:panic'), 'the panic', 30_000);
    // The test guest powers off right after its report: wait for that, or delete could come first.
    await waitUntil(() => streamed.filter((r) => name(r) === 'vm:shutdown').length === 3, 'the panic test to end', 30_000);
    await client.delete();
    await vmm.stop();
    await following;

    const expected = [
      'vm:booting', 'vm:booted', 'vm:pausing', 'vm:paused', 'vm:resuming', 'vm:resumed', 'vm:rebooting', 'vm:rebooted',
      'vm:shutdown', 'vm:deleted',
      'vm:booting', 'vm:booted', 'virtio-device:reset', 'virtio-device:activated', 'vm:shutdown', 'vm:deleted',
      'vm:booting', 'vm:booted', 'guest:panic', 'vm:shutdown', 'vm:deleted', 'vmm:shutdown',
    ];
    const fromFile = readMonitor(monitorPath);
    t.same(fromFile.map(name), ['vmm:starting', ...expected], 'the event-monitor file has every event, in order');
    t.same(streamed.map(name), expected, 'the stream has the same events from the moment it was opened');
    t.same(streamed, fromFile.slice(1), 'with the same timestamps and properties');
    const device = fromFile.find((r) => name(r) === 'virtio-device:activated');
    t.same(device?.properties, { id: 'disk0' }, 'a device event names the device');
    t.same(fromFile.find((r) => name(r) === 'guest:panic')?.properties, { events: 'panicked' });
    t.same(fromFile.filter((r) => name(r) === 'vm:shutdown').map((r) => r.properties),
      [null, { reason: 'poweroff' }, { reason: 'poweroff' }], 'shutdown says when the guest ended it');
    const times = fromFile.map((r) => r.timestamp.secs * 1e9 + r.timestamp.nanos);
    t.same(times, [...times].sort((a, b) => a - b), 'timestamps only grow');
  });

  t.test('many listeners at once; one that never reads is dropped and the VMM carries on', async (t) => {
    const vmm = await ApiVmm.start();
    t.teardown(() => vmm.stop());
    const client = new TsvmmClient(vmm.socketPath);
    t.teardown(() => client.close());
    // A raw connection that asks for the stream and never reads a byte.
    const stalled = connect(vmm.socketPath);
    stalled.write('GET /api/v1/vmm.events HTTP/1.1\r\nHost: localhost\r\n\r\n');
    stalled.pause();
    const counts = [0, 0, 0];
    const abort = new AbortController();
    const readers = counts.map(async (_, i) => {
      for await (const record of client.events(abort.signal)) if (record.event === 'paused') counts[i] = (counts[i] ?? 0) + 1;
    });
    await sleep(200);

    await client.create(guestConfig('test=idle', disk));
    await client.boot();
    // The stalled listener starts reading as soon as the VMM says it dropped it:
    // its connection is cut a while after its last line, however slow this platform.
    let text = '';
    const closed = new Promise((resolve) => stalled.once('close', resolve));
    let reading = false;
    const readStalled = (): void => {
      if (reading) return;
      reading = true;
      stalled.on('data', (chunk: Buffer) => { text += chunk.toString(); });
      stalled.resume();
    };
    // Each cycle is four events of about 100 bytes: enough to fill the socket buffers and the bound.
    const cycles = Math.ceil((4 * MAX_UNREAD_BYTES) / 400);
    for (let i = 0; i < cycles; i++) {
      await client.pause();
      await client.resume();
      if (vmm.output.stderr.includes('dropping it')) readStalled();
    }
    t.equal((await client.info()).state, 'Running', 'the VMM answers while a listener is stalled');
    await waitUntil(() => counts.every((n) => n === cycles), 'the reading listeners to see every pause', 30_000);
    t.same(counts, [cycles, cycles, cycles], 'three reading listeners saw every event');

    readStalled();
    await closed;
    const lines = text.split('\n').filter((line) => line.startsWith('{'));
    const last = JSON.parse(lines.at(-1) ?? '{}') as EventRecord;
    t.equal(name(last), 'vmm:error', 'the stalled listener gets a last line saying it was dropped');
    t.match(last.properties?.message, /unread/);
    t.ok(lines.length < cycles * 4, `and fewer events than the others (${lines.length - 1} of ${cycles * 4})`);
    abort.abort();
    await Promise.all(readers);
  });

  t.test('--event-monitor refuses a bad option and an unwritable path before starting', async (t) => {
    const { runTsvmm } = await import('../helpers/tsvmm.js');
    const bad = await runTsvmm(['--api-socket', join(dir, 'x.sock'), '--event-monitor', 'fd=x']);
    t.equal(bad.code, 2);
    t.match(bad.stderr, /--event-monitor: fd/);
    const unwritable = await runTsvmm(['--api-socket', join(dir, 'y.sock'), '--event-monitor', `path=${join(dir, 'no', 'such', 'file')}`]);
    t.equal(unwritable.code, 2);
    t.match(unwritable.stderr, /cannot open .*ENOENT/);
  });
}

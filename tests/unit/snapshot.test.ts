// The snapshot format without a VM: the manifest's checks (a hostile or
// damaged manifest is a SnapshotError, never another exception), the sparse
// memory file written, read back, mapped copy-on-write and refused when
// truncated or corrupt, the queue indices a restore continues from, and
// --restore's option string.
import { mkdtempSync, openSync, readFileSync, statSync, truncateSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { parseCommandLine } from '../../src/cli/args.js';
import { withNetworkOverrides } from '../../src/config/network-overrides.js';
import { parseRestore } from '../../src/config/options.js';
import type { VmConfig } from '../../src/config/schema.js';
import { parseManifest, SNAPSHOT_FORMAT, SNAPSHOT_VERSION, type Manifest } from '../../src/snapshot/manifest.js';
import { dataRanges, mapMemoryFile, readMemoryFile, writeMemoryFile } from '../../src/snapshot/memory-file.js';
import { snapshotDirectory } from '../../src/snapshot/store.js';
import { SnapshotError } from '../../src/util/errors.js';
import { GuestMemory } from '../../src/vm/memory.js';
import { SplitQueue } from '../../src/virtio/queue.js';
import { checkProperty } from '../helpers/property.js';

const MiB = 2 ** 20;
const base64 = (length: number): string => Buffer.alloc(length).toString('base64');

function validManifest(): Manifest {
  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    tsvmm_version: '0.1.0',
    config: { payload: { kernel: '/k' } },
    vcpus: [{
      regs: base64(144), sregs: base64(312), fpu: { kind: 'xsave', bytes: base64(4096) }, lapic: base64(1024),
      mp_state: base64(4), events: base64(64), msrs: [[0x10, 'ff']],
    }],
    vm: { irqchips: [base64(520), base64(520), base64(520)], pit: base64(112), clock: base64(48) },
    legacy: [{ name: 'serial', state: base64(8) }],
    virtio: [{ id: '_rng0', registers: base64(16), queues: [{ last_available: 1, used_index: 1, last_signalled_used: 0 }] }],
    disks: [],
    memory: { file: 'memory', size: 16 * MiB, ranges: [[0, 4096], [8192, 8192]], sha256: '0'.repeat(64) },
  };
}

t.test('a manifest of this format and version passes; others are refused by what is wrong', async (t) => {
  t.same(parseManifest(JSON.stringify(validManifest())), validManifest(), 'the valid manifest');
  const refused = (what: string, text: string, message: RegExp): void => {
    t.throws(() => parseManifest(text), message, what);
    try {
      parseManifest(text);
    } catch (error) {
      t.ok(error instanceof SnapshotError && error.status === 400 && error.code === 'InvalidSnapshot', `${what}: a 400 InvalidSnapshot`);
    }
  };
  const edited = (edit: (m: Record<string, unknown>) => void): string => {
    const m = validManifest() as unknown as Record<string, unknown>;
    edit(m);
    return JSON.stringify(m);
  };
  refused('not JSON', '{"format":', /not JSON/);
  refused('another program\'s', edited((m) => { m.format = 'firecracker'; }), /not a tsvmm snapshot/);
  refused('a newer version', edited((m) => { m.version = 2; }), /format version 2; this tsvmm reads version 1 only/);
  refused('no vCPU', edited((m) => { m.vcpus = []; }), /corrupt: vcpus/);
  refused('bytes that are not base64', edited((m) => { (m.vm as Record<string, unknown>).pit = '!!'; }), /corrupt: vm\.pit/);
  refused('an MSR value that is not hex', edited((m) => { (m.vcpus as Array<{ msrs: unknown }>)[0]!.msrs = [[1, 'zz']]; }), /corrupt: vcpus\.0\.msrs/);
  const withRanges = (ranges: Array<[number, number]>): string => edited((m) => { (m.memory as { ranges: unknown }).ranges = ranges; });
  refused('an unaligned range', withRanges([[100, 4096]]), /memory range \[100, 4096\]/);
  refused('overlapping ranges', withRanges([[0, 8192], [4096, 4096]]), /memory range \[4096, 4096\]/);
  refused('a range past the end', withRanges([[16 * MiB, 4096]]), /memory range/);
  refused('an empty range', withRanges([[0, 0]]), /memory range/);
});

t.test('any damage to a manifest is a SnapshotError or a manifest that passed every check', async (t) => {
  const text = JSON.stringify(validManifest());
  const damage = fc.oneof(
    fc.tuple(fc.nat(text.length), fc.nat(64)).map(([at, cut]) => text.slice(0, at) + text.slice(at + cut)),
    fc.tuple(fc.nat(text.length), fc.string({ maxLength: 8 })).map(([at, insert]) => text.slice(0, at) + insert + text.slice(at)),
    fc.jsonValue().map((value) => JSON.stringify(value)),
  );
  await checkProperty(t, 'snapshot manifest damage', 'api', 300, damage, (damaged) => {
    try {
      parseManifest(damaged);
      return true;
    } catch (error) {
      return error instanceof SnapshotError;
    }
  });
});

t.test('guest memory: only pages with data are written, and read back, mapped, or refused when damaged', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-snapshot-unit-'));
  const memory = GuestMemory.allocate(64 * MiB);
  t.teardown(() => memory.free());
  memory.write(0x1000, Buffer.from('first page'));
  memory.write(0x2ff8, Buffer.from('crosses a page'));
  memory.write(64 * MiB - 8, Buffer.from('lastpage'));
  const path = join(dir, 'memory');
  const progress: Array<[number, number]> = [];
  const saved = await writeMemoryFile(memory, path, (done, total) => progress.push([done, total]));
  t.same(saved.ranges, [[0x1000, 0x3000], [64 * MiB - 4096, 4096]], 'the three pages with data, as two ranges');
  t.equal(statSync(path).size, 64 * MiB, 'the file has the memory size');
  t.ok(statSync(path).blocks * 512 <= 1 * MiB, 'and holes elsewhere');
  t.same(progress.at(-1), [4 * 4096, 4 * 4096], 'progress ends at every byte');

  const copy = GuestMemory.allocate(64 * MiB);
  t.teardown(() => copy.free());
  await readMemoryFile(copy, path, saved, () => {});
  t.equal(Buffer.from(copy.slice(0x2ff8, 14)).toString(), 'crosses a page', 'read back: the data');
  t.equal(Buffer.from(copy.slice(64 * MiB - 8, 8)).toString(), 'lastpage', 'up to the last page');

  const mapped = mapMemoryFile(path, saved, true);
  t.teardown(() => mapped.free());
  t.equal(Buffer.from(mapped.slice(0x1000, 10)).toString(), 'first page', 'mapped copy-on-write: the data');
  mapped.write(0x1000, Buffer.from('changed'));
  t.equal(readFileSync(path).subarray(0x1000, 0x100a).toString(), 'first page', 'and the guest\'s writes do not reach the file');

  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.from('X'), 0, 1, 0x1000);
  closeSync(fd);
  await t.rejects(readMemoryFile(copy, path, saved, () => {}), { code: 'InvalidSnapshot', message: /SHA-256/ }, 'a changed byte is found on read');
  t.throws(() => mapMemoryFile(path, saved, true), { code: 'InvalidSnapshot', message: /SHA-256/ }, 'and by a prefaulted mapping');
  truncateSync(path, 32 * MiB);
  await t.rejects(readMemoryFile(copy, path, saved, () => {}), { code: 'InvalidSnapshot', message: /truncated/ }, 'a truncated file is refused');
  t.throws(() => mapMemoryFile(path, saved, false), { code: 'InvalidSnapshot', message: /truncated/ }, 'also when mapped');
});

t.test('long runs of data are split into chunks, so progress is reported as they are written', async (t) => {
  const memory = GuestMemory.allocate(48 * MiB);
  t.teardown(() => memory.free());
  memory.slice(0, 40 * MiB).fill(1);
  const ranges = dataRanges(memory);
  t.same(ranges, [[0, 16 * MiB], [16 * MiB, 16 * MiB], [32 * MiB, 8 * MiB]]);
});

t.test('a queue continues from restored indices', async (t) => {
  const memory = GuestMemory.detached(MiB);
  const layout = { size: 8, descriptorTable: 0x1000, availableRing: 0x2000, usedRing: 0x3000, eventIndex: false };
  const queue = new SplitQueue(memory, layout);
  queue.restoreIndices({ lastAvailable: 0x1_0005, usedIndex: 5, lastSignalledUsed: 4 });
  t.same(queue.indices, { lastAvailable: 5, usedIndex: 5, lastSignalledUsed: 4 }, 'indices are taken modulo 2^16');
  memory.writeU16(0x2002, 5);
  t.equal(queue.pop(), undefined, 'nothing new when the guest\'s index is where the device was');
  memory.writeU16(0x2004 + 2 * 5, 3);
  memory.writeU16(0x2002, 6);
  t.equal(queue.pop()?.head, 3, 'the next chain is the one after the restored index');
  queue.pushUsed(3, 0);
  t.equal(memory.readU16(0x3002), 6, 'and the used index continues');
});

t.test('--restore and the URLs: Cloud Hypervisor\'s keys, file:// only', async (t) => {
  t.same(parseRestore('source_url=file:///s,prefault=on,memory_restore_mode=ondemand,resume=on'),
    { source_url: 'file:///s', prefault: true, memory_restore_mode: 'OnDemand', resume: true });
  t.throws(() => parseRestore('prefault=on'), /--restore: source_url is required/);
  t.throws(() => parseRestore('source_url=file:///s,net_fds=[net0@3]'), { code: 'UnsupportedField', message: /net_fds/ });
  t.throws(() => parseRestore('source_url=file:///s,memory_restore_mode=lazy'), /not one of copy, ondemand/);
  t.match(parseCommandLine(['--restore', 'source_url=file:///s', '--api-socket', 'path=/tmp/a.sock']), { kind: 'run', restore: { source_url: 'file:///s' } });
  t.throws(() => parseCommandLine(['--restore', 'source_url=file:///s', '--kernel', '/k']), /give no --kernel/);
  t.same(parseRestore('source_url=file:///s,network_overrides=[_net0@[local=127.0.0.1:4001,remote=127.0.0.1:4000],lan@[tap=tap7]]'), {
    source_url: 'file:///s',
    network_overrides: [{ id: '_net0', local: '127.0.0.1:4001', remote: '127.0.0.1:4000' }, { id: 'lan', tap: 'tap7' }],
  }, 'network_overrides as ID@[key=value,...], the shape of net_fds');
  t.same(parseRestore('source_url=file:///s,network_overrides=[]'), { source_url: 'file:///s', network_overrides: [] });
  t.throws(() => parseRestore('source_url=file:///s,network_overrides=_net0'), /network_overrides is a list/);
  t.throws(() => parseRestore('source_url=file:///s,network_overrides=[_net0@tap=t]'), /"_net0@tap=t" is not ID@\[key=value/);
  t.throws(() => parseRestore('source_url=file:///s,network_overrides=[_net0@[mac=52:54:00:00:00:01]]'), /unknown key "mac"/);
  t.equal(snapshotDirectory('source_url', 'file:///var/snap'), '/var/snap');
  for (const url of ['/var/snap', 'file://var/snap', 'http://host/snap']) {
    t.throws(() => snapshotDirectory('source_url', url), { code: 'InvalidConfig', message: /source_url/ }, url);
  }
});

t.test('network_overrides replace the backend fields they give and keep what the guest sees', async (t) => {
  const config = {
    payload: { kernel: '/k' }, cpus: { boot_vcpus: 1, max_vcpus: 1 }, memory: { size: 2 ** 28 },
    net: [
      { id: '_net0', remote: '127.0.0.1:4000', local: '127.0.0.1:4001', mac: '52:54:00:00:00:0a', mtu: 1400, queue_size: 256 },
      { id: 'lan', tap: 'tap0', ip: '10.0.0.1', mask: '255.255.255.0', mac: '52:54:00:00:00:0b', queue_size: 256 },
    ],
  } as unknown as VmConfig;
  t.equal(withNetworkOverrides(config), config, 'none: the config as it was');
  const moved = withNetworkOverrides(config, [{ id: '_net0', local: '127.0.0.1:5001', remote: '127.0.0.1:5000' }, { id: 'lan', tap: 'tap9' }]);
  t.same(moved.net, [
    { id: '_net0', remote: '127.0.0.1:5000', local: '127.0.0.1:5001', mac: '52:54:00:00:00:0a', mtu: 1400, queue_size: 256 },
    { id: 'lan', tap: 'tap9', ip: '10.0.0.1', mask: '255.255.255.0', mac: '52:54:00:00:00:0b', queue_size: 256 },
  ], 'the backend fields given are the override\'s; MAC, MTU and queues stay');
  t.same(withNetworkOverrides(config, [{ id: '_net0', tap: 'tap3' }]).net?.[0], { id: '_net0', tap: 'tap3', mac: '52:54:00:00:00:0a', mtu: 1400, queue_size: 256 },
    'a tunnel may become a TAP');
  t.same(withNetworkOverrides(config, [{ id: '_net0', local: '127.0.0.1:0' }]).net?.[0],
    { id: '_net0', remote: '127.0.0.1:4000', local: '127.0.0.1:0', mac: '52:54:00:00:00:0a', mtu: 1400, queue_size: 256 }, 'a field not given stays');
  t.same(withNetworkOverrides(config, [{ id: 'lan', remote: '127.0.0.1:6000' }]).net?.[1],
    { id: 'lan', remote: '127.0.0.1:6000', mac: '52:54:00:00:00:0b', queue_size: 256 }, 'a TAP may become a tunnel, without its TAP fields');
  t.throws(() => withNetworkOverrides(config, [{ id: 'eth9', tap: 't' }]), { code: 'InvalidConfig', message: /network_overrides\[0\]: the VM has no NIC "eth9" \(its NICs: _net0, lan\)/ });
  t.throws(() => withNetworkOverrides(config, [{ id: 'lan' }, { id: 'lan', tap: 't' }]), { code: 'InvalidConfig', message: /network_overrides\[1\]: NIC "lan" is overridden twice/ });
  t.throws(() => withNetworkOverrides(config, [{ id: 'lan', local: '127.0.0.1:5001' }]), { code: 'InvalidConfig', message: /network_overrides\[0\]: local is for UDP tunnels/ });
  t.throws(() => withNetworkOverrides(config, [{ id: '_net0', remote: '127.0.0.1:0' }]), { code: 'InvalidConfig', message: /remote port must not be 0/ });
  t.equal(config.net?.[0]?.local, '127.0.0.1:4001', 'the config given is not changed');
});

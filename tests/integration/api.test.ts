// The REST API over its real UNIX socket: every endpoint in every state,
// a table of bad requests, ordering and concurrency, curl as a client, and
// the socket's lock and clean-up. Every response body is checked against
// the schema the OpenAPI document gives for it.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readlinkSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Client } from 'undici';
import type { ErrorCode } from '../../src/util/errors.js';
import { ApiVmm, expectError, expectOk } from '../helpers/api.js';
import { buildTestElf, HALT_FOREVER } from '../helpers/elf.js';
import { runTsvmm, skipWithoutKvm } from '../helpers/tsvmm.js';
import { sleep, waitUntil } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'tsvmm-api-test-'));
const haltKernel = join(dir, 'halt.elf');
writeFileSync(haltKernel, buildTestElf({ segments: [{ address: 0x100000, code: HALT_FOREVER }], pvhEntry: 0x100000 }));
const fifo = join(dir, 'fifo');
execFileSync('mkfifo', [fifo]);
const haltConfig = { payload: { kernel: haltKernel }, memory: { size: 64 * 2 ** 20 }, serial: { mode: 'Null' }, console: { mode: 'Off' } };

t.test('bad requests get their status and a JSON error, and the VMM keeps serving', async (t) => {
  const vmm = await ApiVmm.start();
  t.teardown(() => vmm.stop());
  const cases: Array<[string, string, string | object | undefined, number, ErrorCode, RegExp]> = [
    ['PUT', 'vm.create', '{"payload": {', 400, 'InvalidBody', /malformed JSON/],
    ['PUT', 'vm.create', { payload: { kernel: 5 } }, 400, 'InvalidBody', /payload\.kernel: Expected string/],
    ['PUT', 'vm.create', { payload: { kernel: 'k' }, balloon: { size: 1 } }, 400, 'UnsupportedField', /balloon: \{"size":1\} is not supported by tsvmm/],
    ['PUT', 'vm.create', { payload: { kernel: 'k' }, ballon: {} }, 400, 'InvalidBody', /ballon: Unexpected property/],
    ['PUT', 'vm.create', { payload: { kernel: 'k' }, disks: [{ path: '/x', num_queues: 2 }] }, 400, 'UnsupportedField', /disks\[0\]\.num_queues: 2 is not supported by tsvmm \(only 1\)/],
    ['PUT', 'vm.create', { payload: { kernel: 'k' }, cpus: { boot_vcpus: 0, max_vcpus: 1 } }, 400, 'InvalidBody', /boot_vcpus/],
    ['PUT', 'vm.create', { payload: { kernel: 'k' }, memory: { size: '1G' } }, 400, 'InvalidBody', /memory\.size/],
    ['PUT', 'vm.create', { cpus: { boot_vcpus: 1, max_vcpus: 1 } }, 400, 'InvalidBody', /payload/],
    ['PUT', 'vm.create', [], 400, 'InvalidBody', /Expected object/],
    ['PUT', 'vm.create', undefined, 400, 'InvalidBody', /needs a JSON request body/],
    ['PUT', 'vm.create', { payload: { kernel: join(dir, 'missing') } }, 400, 'HostFileRejected', /cannot read kernel .*ENOENT/],
    ['PUT', 'vm.create', { payload: { kernel: haltKernel }, rng: { src: join(dir, 'no-entropy') } }, 400, 'HostFileRejected', /cannot open rng source .*ENOENT/],
    ['PUT', 'vm.create', { payload: { kernel: haltKernel }, rng: {} }, 400, 'InvalidBody', /rng\.src/],
    ['PUT', 'vm.create', { payload: { kernel: haltKernel }, memory: { size: 4097 * 4096 + 1 } }, 400, 'InvalidConfig', /multiple of 4 KiB/],
    ['PUT', 'vm.create', `{"payload":{"kernel":"${'k'.repeat(70_000)}"}}`, 413, 'BodyTooLarge', /over 65536 bytes/],
    ['PUT', 'vm.create', { payload: { kernel: '/dev/zero' } }, 400, 'HostFileRejected', /kernel \/dev\/zero is a character device; it must be a regular file/],
    ['PUT', 'vm.create', { payload: { kernel: fifo } }, 400, 'HostFileRejected', /kernel .*fifo is a FIFO/],
    ['PUT', 'vm.create', { payload: { kernel: haltKernel, initramfs: fifo } }, 400, 'HostFileRejected', /initramfs .*fifo is a FIFO/],
    ['PUT', 'vm.create', { payload: { kernel: haltKernel }, rng: { src: fifo } }, 400, 'HostFileRejected', /rng source .*fifo is a FIFO/],
    ['PUT', 'vm.create', { payload: { kernel: haltKernel }, serial: { mode: 'File', file: fifo } }, 400, 'HostFileRejected', /serial file .*fifo/],
    ['PUT', 'vm.create', { payload: { kernel: haltKernel }, disks: [{ path: '/dev/zero' }] }, 400, 'HostFileRejected', /disk \/dev\/zero is a character device/],
    ['PUT', 'vm.create', { payload: { kernel: haltKernel }, disks: Array.from({ length: 10 }, () => ({ path: haltKernel, readonly: true })),
      net: Array.from({ length: 8 }, () => ({ remote: '127.0.0.1:9' })) }, 400, 'DeviceLimit', /20 virtio devices \(disks, NICs, the rng, the vsock, the console\) are more than the 18/],
    ['PUT', 'vm.boot', '{}', 400, 'InvalidBody', /vm.boot takes no request body/],
    ['POST', 'vm.boot', undefined, 405, 'MethodNotAllowed', /takes PUT, not POST/],
    ['GET', 'vm.create', undefined, 405, 'MethodNotAllowed', /takes PUT, not GET/],
    ['PUT', 'vmm.ping', undefined, 405, 'MethodNotAllowed', /takes GET, not PUT/],
    ['GET', 'vm.nope', undefined, 404, 'NoSuchEndpoint', /no endpoint/],
    ['PUT', 'vm.add-fs', { tag: 'x', socket: '/s', num_queues: 1, queue_size: 1024 }, 501, 'NotSupported', /vm\.add-fs is not supported by tsvmm/],
    ['PUT', 'vm.coredump', { destination_url: 'file:///tmp/core' }, 501, 'NotSupported', /vm\.coredump is not supported by tsvmm/],
    ['GET', '../../etc/passwd', undefined, 404, 'NoSuchEndpoint', /no endpoint/],
    ['PUT', 'vm.boot', undefined, 404, 'VmNotCreated', /no VM is created/],
    ['GET', 'vm.info', undefined, 404, 'VmNotCreated', /no VM is created/],
    ['GET', 'vm.counters', undefined, 404, 'VmNotCreated', /no VM is created/],
  ];
  for (const [method, action, body, status, code, message] of cases) {
    const response = await vmm.call(method, action, body);
    const what = `${method} ${action} ${typeof body === 'string' ? body.slice(0, 30) : JSON.stringify(body)?.slice(0, 60)}`;
    expectOk(t, response, status, what);
    t.match(response.body, { status, code, message }, `${what}: ${code}, and says why`);
    if (status === 405) t.ok(response.headers.allow, `${what}: Allow header`);
  }
  expectOk(t, await vmm.call('PUT', 'vm.delete'), 204, 'vm.delete with no VM succeeds, as in Cloud Hypervisor');
  const refused = await vmm.call('PUT', 'vm.create', { payload: { kernel: haltKernel }, console: { mode: 'Socket', socket: vmm.socketPath } });
  expectError(t, refused, 400, 'ResourceBusy', 'a console socket on the API socket');
  t.match(refused.body, { message: /is in use: something listens on it/ });
  expectOk(t, await vmm.call('GET', 'vmm.ping'), 200, 'the API socket was left alone');
  const ping = await vmm.call('GET', 'vmm.ping');
  expectOk(t, ping, 200, 'ping afterwards');
  t.match(ping.body, { version: /^\d+\.\d+\.\d+$/, pid: vmm.child.pid });
});

t.test("vm.info's config, sent back to vm.create, is accepted and gives the same config", async (t) => {
  const vmm = await ApiVmm.start();
  t.teardown(() => vmm.stop());
  const disk = join(dir, 'round-trip.img');
  writeFileSync(disk, new Uint8Array(4096));
  const body = { ...haltConfig, disks: [{ path: disk }, { path: disk, readonly: true, id: 'data' }], net: [{ remote: '127.0.0.1:9' }] };
  expectOk(t, await vmm.call('PUT', 'vm.create', body), 204, 'create');
  const first = await vmm.call('GET', 'vm.info');
  expectOk(t, first, 200, 'info');
  const config = (first.body as { config: Record<string, unknown> }).config;
  t.match(config, {
    cpus: { boot_vcpus: 1, max_vcpus: 1, nested: true, max_phys_bits: 46 },
    memory: { size: 64 * 2 ** 20, thp: true, shared: false },
    disks: [{ id: '_disk0', num_queues: 1, queue_size: 128, image_type: 'Unknown' }, { id: 'data', readonly: true }],
    net: [{ id: '_net0', num_queues: 2, queue_size: 256, mac: /^[0-9a-f:]{17}$/ }],
    pvpanic: false, watchdog: false, iommu: false,
  }, 'every default is filled in, and the devices have ids');
  expectOk(t, await vmm.call('PUT', 'vm.delete'), 204, 'delete');
  expectOk(t, await vmm.call('PUT', 'vm.create', config), 204, 'create from the config vm.info gave');
  const second = await vmm.call('GET', 'vm.info');
  t.same((second.body as { config: unknown }).config, config, 'the same config, ids and MAC included');
});

t.test('the life cycle, every action in every state', async (t) => {
  if (skipWithoutKvm(t, import.meta.url)) return;
  const vmm = await ApiVmm.start();
  t.teardown(() => vmm.stop());
  const state = async (expected: string): Promise<void> => {
    const info = await vmm.call('GET', 'vm.info');
    expectOk(t, info, 200, `info while ${expected}`);
    t.match(info.body, { state: expected, memory_actual_size: 64 * 2 ** 20, config: { cpus: { boot_vcpus: 1 } } });
  };
  const forbidden = async (actions: string[], why: string): Promise<void> => {
    for (const action of actions) {
      const response = await vmm.call('PUT', action);
      expectError(t, response, 409, 'InvalidState', `${action} ${why}`);
    }
  };
  expectOk(t, await vmm.call('PUT', 'vm.create', haltConfig), 204, 'create');
  await state('Created');
  expectError(t, await vmm.call('PUT', 'vm.create', haltConfig), 409, 'VmAlreadyCreated', 'create twice');
  await forbidden(['vm.pause', 'vm.resume', 'vm.shutdown', 'vm.reboot', 'vm.nmi', 'vm.power-button'], 'when Created');
  expectOk(t, await vmm.call('GET', 'vm.counters'), 200, 'counters');

  expectOk(t, await vmm.call('PUT', 'vm.boot'), 204, 'boot');
  await state('Running');
  await forbidden(['vm.boot', 'vm.resume'], 'when Running');
  expectOk(t, await vmm.call('PUT', 'vm.power-button'), 204, 'power button (the halting guest ignores it)');

  expectOk(t, await vmm.call('PUT', 'vm.pause'), 204, 'pause');
  await state('Paused');
  await forbidden(['vm.pause', 'vm.boot', 'vm.nmi'], 'when Paused');
  expectOk(t, await vmm.call('PUT', 'vm.resume'), 204, 'resume');
  await state('Running');

  expectOk(t, await vmm.call('PUT', 'vm.reboot'), 204, 'reboot');
  await state('Running');
  expectOk(t, await vmm.call('PUT', 'vm.pause'), 204, 'pause before shutdown');
  expectOk(t, await vmm.call('PUT', 'vm.shutdown'), 204, 'shutdown from Paused');
  await state('Shutdown');
  await forbidden(['vm.shutdown', 'vm.pause', 'vm.resume', 'vm.reboot'], 'when Shutdown');

  expectOk(t, await vmm.call('PUT', 'vm.boot'), 204, 'boot again after shutdown');
  await state('Running');
  expectOk(t, await vmm.call('PUT', 'vm.delete'), 204, 'delete while Running');
  expectError(t, await vmm.call('GET', 'vm.info'), 404, 'VmNotCreated', 'info after delete');

  // The NMI reaches the guest: this one has no IDT, so it triple-faults, which
  // only a delivered NMI can cause, and a triple fault resets the VM as it
  // resets a PC (and as in Cloud Hypervisor): it boots again and runs.
  expectOk(t, await vmm.call('PUT', 'vm.create', haltConfig), 204, 'create for the NMI');
  expectOk(t, await vmm.call('PUT', 'vm.boot'), 204, 'boot for the NMI');
  expectOk(t, await vmm.call('PUT', 'vm.nmi'), 204, 'nmi');
  await waitUntil(() => /triple-faulted/.test(vmm.output.stderr), 'the triple fault to be reported', 10_000, () => vmm.output.stderr.slice(-500));
  t.pass('the NMI made the guest without an IDT triple-fault, and it was reported');
  let running = false;
  for (let i = 0; i < 400 && !running; i++) {
    running = ((await vmm.call('GET', 'vm.info')).body as { state: string }).state === 'Running';
    if (!running) await sleep(25);
  }
  t.ok(running, 'the VM was reset and runs again');
  expectOk(t, await vmm.call('PUT', 'vm.delete'), 204, 'delete after the reset');
});

t.test('vm.add-disk: cold-add before boot, 501 while running, 409 for a duplicate id', async (t) => {
  if (skipWithoutKvm(t, import.meta.url)) return;
  const disk = join(dir, 'added.img');
  writeFileSync(disk, new Uint8Array(2 ** 20));
  const vmm = await ApiVmm.start();
  t.teardown(() => vmm.stop());
  expectError(t, await vmm.call('PUT', 'vm.add-disk', { path: disk }), 404, 'VmNotCreated', 'no VM yet');
  expectOk(t, await vmm.call('PUT', 'vm.create', haltConfig), 204, 'create');
  expectOk(t, await vmm.call('PUT', 'vm.add-disk', { path: disk, id: 'data' }), 204, 'add-disk');
  expectError(t, await vmm.call('PUT', 'vm.add-disk', { path: disk, id: 'data', readonly: true }), 409, 'DuplicateDeviceId', 'same id again');
  expectError(t, await vmm.call('PUT', 'vm.add-disk', { path: join(dir, 'nope.img') }), 400, 'HostFileRejected', 'missing image');
  expectError(t, await vmm.call('PUT', 'vm.add-disk', { path: disk, cache: 'none' }), 400, 'InvalidBody', 'unknown field');
  const info = await vmm.call('GET', 'vm.info');
  t.match(info.body, { config: { disks: [{ path: disk, id: 'data' }] } });
  expectOk(t, await vmm.call('PUT', 'vm.boot'), 204, 'boot with the added disk');
  const counters = await vmm.call('GET', 'vm.counters');
  expectOk(t, counters, 200, 'counters');
  t.same(counters.body, {
    data: {
      read_bytes: 0, write_bytes: 0, read_ops: 0, write_ops: 0, discard_ops: 0, write_zeroes_ops: 0,
      read_latency_min: 0, read_latency_max: 0, read_latency_avg: 0, write_latency_min: 0, write_latency_max: 0, write_latency_avg: 0,
      malformed_requests: 0, out_of_range: 0, io_errors: 0, last_errno: 0, queue_failures: 0, rings_refused: 0,
    },
    _rng0: { read_bytes: 0, queue_failures: 0, rings_refused: 0 },
  }, 'the added disk, and the rng every VM has');
  expectError(t, await vmm.call('PUT', 'vm.add-disk', { path: disk, id: 'other' }), 501, 'NotSupported', 'while running');
});

t.test('vm.add-net: a UDP tunnel NIC cold-added; vm.info shows its MAC and, once booted, its bound port', async (t) => {
  if (skipWithoutKvm(t, import.meta.url)) return;
  const vmm = await ApiVmm.start();
  t.teardown(() => vmm.stop());
  const nic = { remote: '127.0.0.1:9', local: '127.0.0.1:0', id: 'uplink' };
  expectError(t, await vmm.call('PUT', 'vm.add-net', nic), 404, 'VmNotCreated', 'no VM yet');
  expectOk(t, await vmm.call('PUT', 'vm.create', haltConfig), 204, 'create');
  expectOk(t, await vmm.call('PUT', 'vm.add-net', nic), 204, 'add-net');
  expectError(t, await vmm.call('PUT', 'vm.add-net', nic), 409, 'DuplicateDeviceId', 'same id again');
  expectError(t, await vmm.call('PUT', 'vm.add-net', { remote: '127.0.0.1:9', tap: 'tap0' }), 400, 'InvalidConfig', 'tap and remote');
  expectError(t, await vmm.call('PUT', 'vm.add-net', { remote: 'example.org:9' }), 400, 'InvalidBody', 'a host name');
  expectError(t, await vmm.call('PUT', 'vm.add-net', { mac: '01:02:03:04:05:06', remote: '127.0.0.1:9' }), 400, 'InvalidConfig', 'multicast MAC');
  expectError(t, await vmm.call('PUT', 'vm.add-net', { remote: '127.0.0.1:9', queue_sizes: 256 }), 400, 'InvalidBody', 'unknown field');
  expectError(t, await vmm.call('PUT', 'vm.add-net', { remote: '127.0.0.1:9', num_queues: 4 }), 400, 'UnsupportedField', 'more queues than tsvmm has');
  const created = await vmm.call('GET', 'vm.info');
  t.match(created.body, { config: { net: [{ ...nic, mac: /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/ }] } }, 'a MAC is chosen at once');
  expectOk(t, await vmm.call('PUT', 'vm.boot'), 204, 'boot');
  const running = await vmm.call('GET', 'vm.info');
  const local = (running.body as { config: { net: Array<{ local: string; mac: string }> } }).config.net[0];
  t.match(local?.local, /^127\.0\.0\.1:[1-9]\d*$/, 'the port the tunnel bound');
  t.equal(local?.mac, (created.body as { config: { net: Array<{ mac: string }> } }).config.net[0]?.mac, 'the same MAC');
  const counters = await vmm.call('GET', 'vm.counters');
  t.same(counters.body, {
    uplink: {
      rx_bytes: 0, rx_frames: 0, rx_dropped: 0, tx_bytes: 0, tx_frames: 0, tx_dropped: 0, tx_errors: 0,
      queue_failures: 0, rings_refused: 0,
    },
    _rng0: { read_bytes: 0, queue_failures: 0, rings_refused: 0 },
  });
  expectError(t, await vmm.call('PUT', 'vm.add-net', { remote: '127.0.0.1:9' }), 501, 'NotSupported', 'while running');
});

t.test('vm.add-vsock: one per VM; its socket is there while the VM runs, refused when taken, gone after shutdown', async (t) => {
  if (skipWithoutKvm(t, import.meta.url)) return;
  const vmm = await ApiVmm.start();
  t.teardown(() => vmm.stop());
  const socket = join(dir, 'vsock.sock');
  expectOk(t, await vmm.call('PUT', 'vm.create', haltConfig), 204, 'create');
  expectError(t, await vmm.call('PUT', 'vm.add-vsock', { cid: 2, socket }), 400, 'InvalidBody', 'a reserved CID');
  expectError(t, await vmm.call('PUT', 'vm.add-vsock', { cid: 3 }), 400, 'InvalidBody', 'no socket');
  expectOk(t, await vmm.call('PUT', 'vm.add-vsock', { cid: 3, socket }), 204, 'add-vsock');
  expectError(t, await vmm.call('PUT', 'vm.add-vsock', { cid: 4, socket: `${socket}2` }), 400, 'DeviceLimit', 'a second vsock');
  t.match((await vmm.call('GET', 'vm.info')).body, { config: { vsock: { cid: 3, socket, id: '_vsock0' } } }, 'vm.info names it _vsock0');
  t.notOk(existsSync(socket), 'no socket before boot');
  expectOk(t, await vmm.call('PUT', 'vm.boot'), 204, 'boot');
  t.ok(existsSync(socket), 'listening while the VM runs');
  t.match((await vmm.call('GET', 'vm.counters')).body, { _vsock0: { connections_opened: 0, connections_active: 0, protocol_errors: 0 } });
  expectOk(t, await vmm.call('PUT', 'vm.shutdown'), 204, 'shutdown');
  t.notOk(existsSync(socket), 'removed when the VM stops');
  writeFileSync(socket, '');
  const taken = await vmm.call('PUT', 'vm.boot');
  t.match(taken.body, { message: /vsock\.socket .*something is there already/ }, 'a path in use is refused at boot, by name');
});

t.test('requests pipelined on one connection are answered in order', async (t) => {
  if (skipWithoutKvm(t, import.meta.url)) return;
  const vmm = await ApiVmm.start();
  t.teardown(() => vmm.stop());
  const responses = await Promise.all([
    vmm.call('PUT', 'vm.create', haltConfig),
    vmm.call('PUT', 'vm.boot'),
    vmm.call('PUT', 'vm.pause'),
    vmm.call('GET', 'vm.info'),
    vmm.call('PUT', 'vm.resume'),
    vmm.call('GET', 'vm.info'),
    vmm.call('PUT', 'vm.delete'),
    vmm.call('GET', 'vm.info'),
  ]);
  t.same(responses.map((r) => r.status), [204, 204, 204, 200, 204, 200, 204, 404]);
  t.match(responses[3]?.body, { state: 'Paused' });
  t.match(responses[5]?.body, { state: 'Running' });
});

t.test('HTTP edge cases: a client that half-closes gets its reply; an unknown Expect gets a JSON 417', async (t) => {
  const vmm = await ApiVmm.start();
  t.teardown(() => vmm.stop());
  const raw = (text: string): Promise<string> => new Promise((resolve) => {
    const socket = connect(vmm.socketPath, () => socket.end(text));
    let reply = '';
    socket.on('data', (chunk: Buffer) => { reply += chunk.toString(); });
    socket.on('close', () => resolve(reply));
  });
  const ping = await raw('GET /api/v1/vmm.ping HTTP/1.1\r\nHost: x\r\n\r\n');
  t.match(ping, /^HTTP\/1\.1 200 [^]*"version"/, 'the reply came after the half-close');
  const expect = await raw('PUT /api/v1/vm.create HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 2\r\n\r\n{}');
  t.match(expect, /^HTTP\/1\.1 417 [^]*\{"status":417,"code":"ExpectationFailed","message":"Expect: 200-ok is not supported/);
});

t.test('many connections at once: every request is answered', async (t) => {
  const vmm = await ApiVmm.start();
  t.teardown(() => vmm.stop());
  const clients = Array.from({ length: 16 }, () => new Client('http://localhost', { socketPath: vmm.socketPath }));
  t.teardown(() => Promise.all(clients.map((c) => c.close())));
  const statuses = await Promise.all(clients.flatMap((client) => Array.from({ length: 50 }, async (_, i) => {
    const response = await client.request({ method: 'GET', path: i % 2 ? '/api/v1/vmm.ping' : '/api/v1/vm.info' });
    await response.body.text();
    return response.statusCode;
  })));
  t.equal(statuses.length, 800);
  t.equal(statuses.filter((s) => s === 200).length, 400, 'pings');
  t.equal(statuses.filter((s) => s === 404).length, 400, 'info without a VM');
});

t.test('curl --unix-socket as a client', async (t) => {
  if (spawnSync('curl', ['--version']).status !== 0) {
    t.comment('skipped: curl is not installed');
    return;
  }
  const vmm = await ApiVmm.start();
  t.teardown(() => vmm.stop());
  const curl = (...args: string[]): string =>
    execFileSync('curl', ['-s', '--unix-socket', vmm.socketPath, ...args], { encoding: 'utf8' });
  t.match(JSON.parse(curl('http://localhost/api/v1/vmm.ping')), { version: /\d/ });
  t.equal(curl('-o', '/dev/null', '-w', '%{http_code}', '-X', 'PUT', 'http://localhost/api/v1/vm.info'), '405');
  const created = curl('-o', '/dev/null', '-w', '%{http_code}', '-X', 'PUT', '-H', 'Content-Type: application/json',
    '-d', JSON.stringify(haltConfig), 'http://localhost/api/v1/vm.create');
  t.equal(created, '204');
  t.match(JSON.parse(curl('http://localhost/api/v1/vm.info')), { state: 'Created' });
});

t.test('the socket: mode 0600, one tsvmm per path, stale sockets replaced, removed on exit', async (t) => {
  const first = await ApiVmm.start();
  t.equal(statSync(first.socketPath).mode & 0o777, 0o600);
  const second = await runTsvmm(['--api-socket', `path=${first.socketPath}`], { timeoutMs: 20_000 });
  t.equal(second.code, 2);
  t.match(second.stderr, /is in use by another tsvmm/);
  t.equal((await first.call('GET', 'vmm.ping')).status, 200, 'the first one still serves');

  first.child.kill('SIGKILL');
  await new Promise((resolve) => first.child.once('exit', resolve));
  t.ok(existsSync(first.socketPath), 'a killed tsvmm leaves its socket behind');
  const third = await ApiVmm.start([], first.socketPath);
  const ping = await third.call('GET', 'vmm.ping');
  t.equal(ping.status, 200, 'a new tsvmm took the stale path over');
  t.match(ping.body, { pid: third.child.pid });
  t.equal(await third.stop(), 0, 'vmm.shutdown ends the process with 0');
  t.notOk(existsSync(first.socketPath), 'the socket is removed');
  t.notOk(existsSync(`${first.socketPath}.lock`), 'the lock file is removed');
});

t.test('--api-socket with a payload boots at once and serves that VM', async (t) => {
  if (skipWithoutKvm(t, import.meta.url)) return;
  const vmm = await ApiVmm.start(['--kernel', haltKernel, '--memory', 'size=64M', '--serial', 'null']);
  let info = await vmm.call('GET', 'vm.info');
  for (let i = 0; i < 100 && (info.body as { state?: string }).state !== 'Running'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    info = await vmm.call('GET', 'vm.info');
  }
  expectOk(t, info, 200, 'info');
  t.match(info.body, { state: 'Running', config: { payload: { kernel: haltKernel } } });
  t.equal(await vmm.stop(), 0);
});

t.test('SIGTERM shuts down cleanly and removes the socket', async (t) => {
  const vmm = await ApiVmm.start();
  t.equal((await vmm.call('GET', 'vmm.ping')).status, 200);
  const exited = new Promise<number | null>((resolve) => vmm.child.once('exit', (code) => resolve(code)));
  vmm.child.kill('SIGTERM');
  t.equal(await exited, 0);
  t.notOk(existsSync(vmm.socketPath), 'socket removed');
  await vmm.client.close();
});

/** `fd -> target` of one of a process's open files, or the fd alone if it closed meanwhile. */
function describeFd(pid: number | undefined, fd: string): string {
  try {
    return `${fd} -> ${readlinkSync(`/proc/${pid}/fd/${fd}`)}`;
  } catch {
    return fd;
  }
}

t.test('a payload too large for the VM fails vm.boot with 400 and leaks nothing', async (t) => {
  if (skipWithoutKvm(t, import.meta.url)) return;
  const initramfs = join(dir, 'huge-initramfs');
  writeFileSync(initramfs, '');
  truncateSync(initramfs, 80 * 2 ** 20);
  const vmm = await ApiVmm.start();
  t.teardown(() => vmm.stop());
  expectOk(t, await vmm.call('PUT', 'vm.create', { ...haltConfig, payload: { kernel: haltKernel, initramfs } }), 204, 'create');
  const openFds = (): string[] => readdirSync(`/proc/${vmm.child.pid}/fd`).map((fd) => describeFd(vmm.child.pid, fd));
  const boot = await vmm.call('PUT', 'vm.boot');
  expectError(t, boot, 400, 'InvalidPayload', 'boot');
  t.match(boot.body, { message: /initramfs \(80 MiB\) does not fit/ });
  const before = openFds();
  for (let i = 0; i < 5; i++) expectOk(t, await vmm.call('PUT', 'vm.boot'), 400, `boot ${i + 2}`);
  // The vCPU workers each boot starts are ended when it fails; a thread's last fds close as it exits.
  const left = (): string[] => openFds().filter((fd) => !before.includes(fd));
  const closed = await waitUntil(() => left().length === 0, 'the failed boots\' fds to close', 10_000).then(() => true, () => false);
  t.ok(closed, `no file descriptor left behind by failed boots (${before.length} before; new: ${left().join(', ')})`);
  expectOk(t, await vmm.call('GET', 'vm.info'), 200, 'still serving');
});

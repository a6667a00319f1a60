// The D-Bus API on a private bus, with real clients (gdbus, busctl and the
// library), on a VMM that never boots a VM (so no KVM is needed; the kit's
// Linux driven over D-Bus is integration/dbus-linux.test.ts): the interface
// matches the REST actions and Cloud Hypervisor's, every method answers as
// its REST action does, events arrive as signals, REST and D-Bus share one
// VMM, and no client can hurt it.
import { execFile } from 'node:child_process';
import { mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { DBUS_METHODS } from '../../src/dbus/methods.js';
import { checkObjectPath, checkServiceName, methodNameOf } from '../../src/dbus/names.js';
import { socketPathOf } from '../../src/dbus/address.js';
import { ACTIONS } from '../../src/vmm/actions.js';
import { NOT_SUPPORTED_ACTIONS } from '../../src/api/paths.js';
import { ApiClient, ApiVmm } from '../helpers/api.js';
import { callApi, DbusVmm, followEvents, PrivateBus } from '../helpers/dbus.js';
import { buildTestElf, HALT_FOREVER } from '../helpers/elf.js';
import { checkProperty } from '../helpers/property.js';
import { nodeCommand, runTsvmm, TSVMM_REMOTE } from '../helpers/tsvmm.js';
import { waitUntil } from '../helpers/wait.js';

/** Cloud Hypervisor's methods (vmm/src/api/dbus/mod.rs): each must be there, with its signature. */
const CLOUD_HYPERVISOR_METHODS: Record<string, [string, string]> = {
  VmmPing: ['', 's'], VmmShutdown: ['', ''], VmAddDevice: ['s', 's'], VmAddDisk: ['s', 's'], VmAddFs: ['s', 's'],
  VmAddGenericVhostUser: ['s', 's'], VmAddNet: ['s', 's'], VmAddPmem: ['s', 's'], VmAddUserDevice: ['s', 's'],
  VmAddVdpa: ['s', 's'], VmAddVsock: ['s', 's'], VmBoot: ['', ''], VmCoredump: ['s', ''], VmCounters: ['', 's'],
  VmCreate: ['s', ''], VmDelete: ['', ''], VmInfo: ['', 's'], VmPause: ['', ''], VmPowerButton: ['', ''],
  VmReboot: ['', ''], VmRemoveDevice: ['s', ''], VmResize: ['s', ''], VmResizeZone: ['s', ''], VmRestore: ['s', ''],
  VmReceiveMigration: ['s', ''], VmSendMigration: ['s', ''], VmResume: ['', ''], VmShutdown: ['', ''], VmSnapshot: ['s', ''],
};

function testKernel(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-dbus-'));
  const kernel = join(dir, 'halt.elf');
  writeFileSync(kernel, buildTestElf({ segments: [{ address: 0x100000, code: HALT_FOREVER }], pvhEntry: 0x100000 }));
  return kernel;
}

function rawDisk(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'tsvmm-dbus-disk-')), 'disk.raw');
  writeFileSync(path, '');
  truncateSync(path, 1 << 20);
  return path;
}

/** Each method's signature as `busctl introspect` prints it. */
function introspectedMethods(text: string): Map<string, [string, string]> {
  const methods = new Map<string, [string, string]>();
  for (const line of text.split('\n')) {
    const [name, type, input, output] = line.trim().split(/\s+/);
    if (type === 'method' && name?.startsWith('.')) methods.set(name.slice(1), [input === '-' ? '' : input ?? '', output === '-' ? '' : output ?? '']);
  }
  return methods;
}

t.test('names: bus names and object paths are checked as the D-Bus specification says; actions map to Cloud Hypervisor names', async (t) => {
  for (const good of ['org.tsvmm.Vm', 'a.b', 'org.example.vm-1', '_a._b']) t.equal(checkServiceName(good), good, good);
  for (const bad of ['', 'nodots', ':1.42', 'org..x', 'org.1x', 'org.ex ample', 'a.'.repeat(200) + 'b']) {
    t.throws(() => checkServiceName(bad), /--dbus-service-name/, JSON.stringify(bad));
  }
  for (const good of ['/', '/org/tsvmm/Vm', '/a_1']) t.equal(checkObjectPath(good), good, good);
  for (const bad of ['', 'org', '/org/', '//x', '/org-x', '/a//b']) t.throws(() => checkObjectPath(bad), /--dbus-object-path/, JSON.stringify(bad));
  t.equal(methodNameOf('vm.add-disk'), 'VmAddDisk');
  t.equal(methodNameOf('vmm.ping'), 'VmmPing');
  t.equal(methodNameOf('vm.power-button'), 'VmPowerButton');
  t.equal(socketPathOf('unix:path=/run/user/0/bus,guid=1'), '/run/user/0/bus');
  t.equal(socketPathOf('tcp:host=x,port=1;unix:abstract=/tmp/dbus-x%2cy'), '\0/tmp/dbus-x,y');
  t.equal(socketPathOf('tcp:host=x,port=1'), undefined);
});

t.test('the interface: one method per REST action and per endpoint tsvmm lacks, with Cloud Hypervisor\'s names and signatures', async (t) => {
  const names = DBUS_METHODS.map((method) => method.name);
  for (const action of [...Object.keys(ACTIONS), ...NOT_SUPPORTED_ACTIONS]) t.ok(names.includes(methodNameOf(action)), `${action} is on D-Bus`);
  t.equal(new Set(names).size, names.length, 'no two actions share a method name');

  const bus = await PrivateBus.start();
  t.teardown(() => bus.stop());
  const vmm = await DbusVmm.start(bus);
  t.teardown(() => vmm.stop());
  const busctl = await vmm.tool('busctl', [`--address=${bus.address}`, 'introspect', vmm.name, vmm.path]);
  t.equal(busctl.status, 0, `busctl introspect: ${busctl.stderr}`);
  const served = introspectedMethods(busctl.stdout);
  t.same([...served.keys()].filter((name) => names.includes(name)).sort(), [...names].sort(), 'busctl sees every method of the table');
  for (const [name, signature] of Object.entries(CLOUD_HYPERVISOR_METHODS)) t.same(served.get(name), signature, `${name}: Cloud Hypervisor's signature`);
  t.match(busctl.stdout, /\.Event\s+signal\s+s/, 'the Event signal');

  const gdbus = await vmm.tool('gdbus', ['introspect', `--address=${bus.address}`, '--dest', vmm.name, '--object-path', vmm.path]);
  t.equal(gdbus.status, 0, `gdbus introspect: ${gdbus.stderr}`);
  t.match(gdbus.stdout, /interface org\.cloudhypervisor\.DBusApi1/);
  t.match(gdbus.stdout, /VmCreate\(in\s+s vm_config\)/, 'VmCreate names its argument as Cloud Hypervisor does');
  const tree = await vmm.tool('busctl', [`--address=${bus.address}`, 'tree', vmm.name]);
  t.match(tree.stdout, /\/org\/tsvmm\/Test/, 'busctl tree walks from / to the object');
});

t.test('every method answers as its REST action does: the same result, or an error named by the REST code with the REST message', async (t) => {
  const bus = await PrivateBus.start();
  t.teardown(() => bus.stop());
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-dbus-rest-'));
  const twin = await ApiVmm.start([], join(dir, 'api.sock'));
  t.teardown(() => twin.stop());
  const vmm = await DbusVmm.start(bus);
  t.teardown(() => vmm.stop());
  const client = await bus.client();
  t.teardown(() => client.close());

  const kernel = testKernel();
  const bodies: Record<string, string | undefined> = {
    'vm.create': JSON.stringify({ payload: { kernel }, memory: { size: 64 << 20 }, serial: { mode: 'Null' }, console: { mode: 'Off' } }),
    'vm.add-disk': JSON.stringify({ path: rawDisk() }),
    'vm.add-net': JSON.stringify({ remote: '127.0.0.1:9' }),
  };
  // Each action in a VMM without a VM, then (after vm.create) with one that is created but not booted.
  for (const phase of ['no VM', 'created']) {
    if (phase === 'created') {
      await twin.call('PUT', 'vm.create', bodies['vm.create']);
      t.same(await callApi(client, vmm, 'VmCreate', [bodies['vm.create'] as string]), { ok: true, body: [] }, 'VmCreate');
    }
    for (const method of DBUS_METHODS) {
      if (['vm.create', 'vmm.shutdown', 'vm.delete', 'vm.boot'].includes(method.action)) continue;
      const body = method.input ? bodies[method.action] ?? '{}' : undefined;
      const rest = await twin.call(ACTIONS[method.action as keyof typeof ACTIONS]?.method ?? 'PUT', method.action, body);
      const dbus = await callApi(client, vmm, method.name, body === undefined ? [] : [body]);
      const what = `${phase}: ${method.name}`;
      if (rest.status >= 400) {
        const error = rest.body as { code: string; message: string };
        t.match(dbus, { ok: false, name: `org.cloudhypervisor.DBusApi1.Error.${error.code}` }, `${what}: ${error.code}, as vm.${method.action}`);
        if (!dbus.ok) t.equal(dbus.message, error.message, `${what}: the REST message`);
      } else if (method.returnsString) {
        t.ok(dbus.ok, `${what} succeeds`);
        const text = dbus.ok ? String(dbus.body[0]) : '';
        if (rest.body === undefined) t.equal(text, '', `${what}: an empty string where REST has no body`);
        else t.same(Object.keys(JSON.parse(text) as object).sort(), Object.keys(rest.body as object).sort(), `${what}: the REST body's JSON`);
      } else {
        t.same(dbus, { ok: true, body: [] }, `${what} succeeds with no reply arguments`);
      }
    }
  }
  const info = await callApi(client, vmm, 'VmInfo');
  t.match(info.ok && JSON.parse(String(info.body[0])), { state: 'Created', config: { disks: [{ id: '_disk0' }], net: [{ id: '_net0' }] } }, 'the VM has the devices added over D-Bus');
  t.same(await callApi(client, vmm, 'VmDelete'), { ok: true, body: [] }, 'VmDelete');
  t.match(await callApi(client, vmm, 'VmInfo'), { ok: false, name: 'org.cloudhypervisor.DBusApi1.Error.VmNotCreated' }, 'no VM after VmDelete');
  t.same(await callApi(client, vmm, 'VmDelete'), { ok: true, body: [] }, 'VmDelete without a VM succeeds, as vm.delete does');
});

t.test('gdbus and busctl from the command line: results, errors and refused arguments', async (t) => {
  const bus = await PrivateBus.start();
  t.teardown(() => bus.stop());
  const vmm = await DbusVmm.start(bus);
  t.teardown(() => vmm.stop());

  const ping = await vmm.gdbus('VmmPing');
  t.equal(ping.status, 0, `gdbus VmmPing: ${ping.stderr}`);
  t.match(ping.stdout, /"version":"[^"]+".*"features":\["dbus_api"/, 'gdbus VmmPing: the ping body as JSON');
  const busctlPing = await vmm.busctl('VmmPing');
  t.match(busctlPing.stdout, /^s "\{.*build_version/, 'busctl VmmPing');

  const created = await vmm.gdbus('VmCreate', JSON.stringify({ payload: { kernel: testKernel() }, memory: { size: 64 << 20 } }));
  t.equal(created.status, 0, `gdbus VmCreate: ${created.stderr}`);
  const info = await vmm.busctl('VmInfo');
  t.match(info.stdout, /\\"state\\":\\"Created\\"/, 'busctl VmInfo: Created');
  const again = await vmm.gdbus('VmCreate', JSON.stringify({ payload: { kernel: testKernel() } }));
  t.match(again.stderr, /org\.cloudhypervisor\.DBusApi1\.Error\.VmAlreadyCreated/, 'a second VmCreate: VmAlreadyCreated');
  const badField = await vmm.busctl('VmAddDisk', JSON.stringify({ path: '/x', num_queues: 'two' }));
  t.match(badField.stderr, /num_queues/, 'a bad field is named');
  const malformed = await vmm.gdbus('VmAddDisk', '{"path":');
  t.match(malformed.stderr, /Error\.InvalidBody: malformed JSON/, 'malformed JSON: InvalidBody');
  const unsupported = await vmm.gdbus('VmCoredump', '{"destination_url":"file:///tmp/core"}');
  t.match(unsupported.stderr, /Error\.NotSupported: vm\.coredump is not supported by tsvmm/, 'a Cloud Hypervisor method tsvmm lacks');
  const wrongArgs = await vmm.tool('busctl', [`--address=${bus.address}`, 'call', vmm.name, vmm.path, 'org.cloudhypervisor.DBusApi1', 'VmBoot', 'u', '7']);
  t.match(wrongArgs.stderr, /VmBoot takes arguments "", not "u"/, 'wrong argument types are refused with InvalidArgs');
  const unknown = await vmm.gdbus('VmFly');
  t.match(unknown.stderr, /UnknownMethod/, 'an unknown method');
  const elsewhere = await vmm.tool('gdbus', ['call', `--address=${bus.address}`, '--dest', vmm.name, '--object-path', '/org/other', '--method', 'org.cloudhypervisor.DBusApi1.VmmPing']);
  t.match(elsewhere.stderr, /UnknownObject/, 'another object path');
  const peer = await vmm.tool('busctl', [`--address=${bus.address}`, 'call', vmm.name, vmm.path, 'org.freedesktop.DBus.Peer', 'Ping']);
  t.equal(peer.status, 0, 'org.freedesktop.DBus.Peer.Ping');
  const props = await vmm.tool('busctl', [`--address=${bus.address}`, 'call', vmm.name, vmm.path, 'org.freedesktop.DBus.Properties', 'GetAll', 's', 'org.cloudhypervisor.DBusApi1']);
  t.match(props.stdout, /^a\{sv\} 0/, 'no properties');
  const huge = await vmm.gdbus('VmAddDisk', JSON.stringify({ path: 'x'.repeat(70_000) }));
  t.match(huge.stderr, /Error\.BodyTooLarge/, 'a JSON argument over the REST body limit');

  const shutdown = await vmm.gdbus('VmmShutdown');
  t.equal(shutdown.status, 0, `gdbus VmmShutdown gets its reply before tsvmm ends: ${shutdown.stderr}`);
  t.equal(await vmm.exited(), 0, 'tsvmm ends with status 0');
});

t.test('events arrive as Event signals; REST and D-Bus share one VMM, interleaved and at once', async (t) => {
  const bus = await PrivateBus.start();
  t.teardown(() => bus.stop());
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-dbus-both-'));
  const socketPath = join(dir, 'api.sock');
  const vmm = await DbusVmm.start(bus, ['--api-socket', `path=${socketPath}`]);
  t.teardown(() => vmm.stop());
  const rest = new ApiClient(socketPath);
  t.teardown(() => rest.close());
  const client = await bus.client();
  t.teardown(() => client.close());
  const events = await followEvents(client, vmm);
  const kernel = testKernel();
  const config = JSON.stringify({ payload: { kernel }, memory: { size: 64 << 20 } });

  t.equal((await rest.call('PUT', 'vm.create', config)).status, 204, 'REST creates');
  t.match(await callApi(client, vmm, 'VmCreate', [config]), { ok: false, name: 'org.cloudhypervisor.DBusApi1.Error.VmAlreadyCreated' }, 'D-Bus sees the VM REST created');
  t.same(await callApi(client, vmm, 'VmAddDisk', [JSON.stringify({ path: rawDisk(), id: 'd0' })]), { ok: true, body: [''] }, 'D-Bus adds a disk');
  t.match((await rest.call('GET', 'vm.info')).body, { state: 'Created', config: { disks: [{ id: 'd0' }] } }, 'REST sees the disk D-Bus added');
  t.equal((await rest.call('PUT', 'vm.delete')).status, 204, 'REST deletes');
  t.match(await callApi(client, vmm, 'VmInfo'), { ok: false, name: 'org.cloudhypervisor.DBusApi1.Error.VmNotCreated' }, 'D-Bus sees it gone');

  // Both frontends at once: every request is answered, in any interleaving.
  const pings = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0
    ? rest.call('GET', 'vmm.ping').then((r) => r.status === 200)
    : callApi(client, vmm, 'VmmPing').then((r) => r.ok))));
  t.ok(pings.every(Boolean), '40 pings, half REST and half D-Bus, all answered');

  await waitUntil(() => events.some((e) => e.source === 'vm' && e.event === 'deleted'), 'vm:deleted as a signal', 10_000, () => JSON.stringify(events));
  t.pass('vm:deleted (REST deleted the VM) arrived as an Event signal');
});

t.test('hostile and careless clients: a client gone mid-call, random calls, a second tsvmm on the same name, bad flags', async (t) => {
  const bus = await PrivateBus.start();
  t.teardown(() => bus.stop());
  const vmm = await DbusVmm.start(bus);
  t.teardown(() => vmm.stop());

  // A client sends calls and disconnects before the replies come.
  const careless = await bus.client();
  const unanswered = Array.from({ length: 20 }, () => callApi(careless, vmm, 'VmInfo').catch(() => undefined));
  await careless.close();
  await Promise.all(unanswered);
  const client = await bus.client();
  t.teardown(() => client.close());
  t.match(await callApi(client, vmm, 'VmmPing'), { ok: true }, 'tsvmm answers the next client');

  const names = [...DBUS_METHODS.map((m) => m.name).filter((name) => name !== 'VmmShutdown'), 'Introspect', 'Ping', 'Get', 'x'];
  const interfaces = ['org.cloudhypervisor.DBusApi1', 'org.freedesktop.DBus.Introspectable', 'org.freedesktop.DBus.Peer', 'org.freedesktop.DBus.Properties', 'org.x'];
  await checkProperty(t, 'any call on the D-Bus object gets a reply or an error and tsvmm keeps serving', 'api', 60,
    fc.record({
      member: fc.constantFrom(...names), iface: fc.constantFrom(...interfaces),
      args: fc.array(fc.oneof(fc.string({ maxLength: 30 }), fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v))), { maxLength: 3 }),
    }),
    async ({ member, iface, args }) => {
      if (member === 'VmCreate' || member === 'VmBoot') return true; // a VM that boots needs KVM: integration/dbus-linux.test.ts
      await client.call({
        destination: vmm.name, path: vmm.path, interface: iface, member, ...(args.length > 0 ? { signature: 's'.repeat(args.length), body: args } : {}),
      }).catch(() => undefined);
      return vmm.child.exitCode === null;
    });
  t.match(await callApi(client, vmm, 'VmmPing'), { ok: true }, 'still serving');

  const busEnv = { DBUS_SESSION_BUS_ADDRESS: bus.address };
  const second = await runTsvmm(['--dbus-service-name', vmm.name, '--dbus-object-path', '/other'], { env: busEnv });
  t.equal(second.code, 2, 'a second tsvmm on the same name exits with status 2');
  t.match(second.stderr, /D-Bus name org\.tsvmm\.Test is already owned on the session bus/, 'and says why');

  const cases: Array<[string[], RegExp, number, Record<string, string>]> = [
    [['--dbus-service-name', 'nodots', '--dbus-object-path', '/a'], /--dbus-service-name: "nodots" needs at least two elements/, 2, busEnv],
    [['--dbus-service-name', 'org.a.B', '--dbus-object-path', 'a/'], /--dbus-object-path: "a\/" is not an object path/, 2, busEnv],
    [['--dbus-service-name', 'org.a.B'], /--dbus-object-path` option isn't provided/, 2, busEnv],
    [['--dbus-object-path', '/a'], /--dbus-service-name` option isn't provided/, 2, busEnv],
    [['--dbus-service-name', 'org.a.B', '--dbus-object-path', '/a'], /DBUS_SESSION_BUS_ADDRESS is not set/, 2, { DBUS_SESSION_BUS_ADDRESS: '' }],
    [['--dbus-service-name', 'org.a.B', '--dbus-object-path', '/a'], /the session bus: cannot connect/, 3, { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' }],
  ];
  for (const [args, message, code, env] of cases) {
    const result = await runTsvmm(args, { env });
    t.equal(result.code, code, `${args.join(' ')}: status ${code}`);
    t.match(result.stderr, message, `${args.join(' ')}: ${String(message)}`);
  }
});

t.test('a VMM served only on D-Bus ends (status 3) when its bus goes away, since nothing could control it any more', async (t) => {
  const bus = await PrivateBus.start();
  const vmm = await DbusVmm.start(bus);
  t.teardown(() => vmm.stop());
  bus.stop();
  t.equal(await vmm.exited(), 3, 'exit status 3');
  t.match(vmm.output.stderr, /D-Bus: the bus connection was lost/, 'and the log says why');
});

t.test('tsvmm-remote over D-Bus, with ch-remote\'s --dbus-service-name and --dbus-object-path', async (t) => {
  const bus = await PrivateBus.start();
  t.teardown(() => bus.stop());
  const vmm = await DbusVmm.start(bus);
  t.teardown(() => vmm.stop());

  const ping = await vmm.remote(['ping']);
  t.equal(ping.status, 0, `ping: ${ping.stderr}`);
  t.match(JSON.parse(ping.stdout), { version: String, features: ['dbus_api', 'kvm'] }, 'ping prints the reply');
  const events = vmm.remote(['events', '--until', 'vm:deleted', '--timeout', '60']);
  const config = JSON.stringify({ payload: { kernel: testKernel() }, memory: { size: 64 << 20 } });
  t.equal((await vmm.remote(['create', '-'], { input: config })).status, 0, 'create from stdin');
  t.equal((await vmm.remote(['add-disk', `path=${rawDisk()},id=data`])).status, 0, 'add-disk with an option string');
  const info = await vmm.remote(['info']);
  t.match(JSON.parse(info.stdout), { state: 'Created', config: { disks: [{ id: 'data' }] } }, 'info');
  const refused = await vmm.remote(['pause']);
  t.equal(refused.status, 1, 'a refused request: status 1');
  t.match(refused.stderr, /^tsvmm-remote: cannot pause a VM that is Created/, 'with the server\'s message');
  t.equal((await vmm.remote(['delete'])).status, 0, 'delete');
  const followed = await events;
  t.equal(followed.status, 0, `events --until vm:deleted ends with 0: ${followed.stderr}`);
  t.match(followed.stdout, /"source":"vm","event":"deleted"/, 'and printed the event');

  const nobody = await runTsvmmRemote(bus, ['--dbus-service-name', 'org.tsvmm.Nobody', '--dbus-object-path', '/x', 'ping']);
  t.equal(nobody.status, 3, 'a name nobody owns: status 3');
  t.match(nobody.stderr, /nothing owns org\.tsvmm\.Nobody on the session bus/);
  const half = await runTsvmmRemote(bus, ['--dbus-service-name', 'org.tsvmm.Test', 'ping']);
  t.equal(half.status, 2, 'one D-Bus option without the other: status 2');
  t.equal((await vmm.remote(['coredump', 'file:///tmp/core'])).status, 2, 'a ch-remote command for what tsvmm lacks: status 2');
  t.equal((await vmm.remote(['shutdown-vmm'])).status, 0, 'shutdown-vmm');
  t.equal(await vmm.exited(), 0, 'ends tsvmm');
});

function runTsvmmRemote(bus: PrivateBus, args: string[]): ReturnType<DbusVmm['remote']> {
  return new Promise((resolve) => {
    execFile(...nodeCommand(TSVMM_REMOTE, args), { env: bus.env() }, (error, stdout, stderr) => {
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

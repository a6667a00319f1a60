// The kit's Linux driven entirely over D-Bus (tsvmm serves no REST socket):
// created, booted, paused, resumed, shut down and deleted with the
// library's client, each state's refusals checked, and the life cycle
// followed through Event signals.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { callApi, DbusVmm, followEvents, PrivateBus } from '../helpers/dbus.js';
import { BASE_CMDLINE, BOOTED_MARKER, guestKit, run64, skipWithoutKvm } from '../helpers/tsvmm.js';
import { waitUntil } from '../helpers/wait.js';

const ERROR = 'org.cloudhypervisor.DBusApi1.Error';

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

if (!skipWithoutKvm(t, import.meta.url)) {
  t.test('create, boot, pause, resume, shut down and delete a Linux guest over D-Bus, followed by Event signals', async (t) => {
    const kit = guestKit();
    const dir = mkdtempSync(join(tmpdir(), 'tsvmm-dbus-linux-'));
    const serialPath = join(dir, 'serial.log');
    const bus = await PrivateBus.start();
    t.teardown(() => bus.stop());
    const vmm = await DbusVmm.start(bus);
    t.teardown(() => vmm.stop());
    const client = await bus.client();
    t.teardown(() => client.close());
    const events = await followEvents(client, vmm);
    const names = (): string[] => events.map((e) => `${e.source}:${e.event}`);
    const output = (): string => readOr(serialPath);
    const state = async (): Promise<string> => {
      const info = await callApi(client, vmm, 'VmInfo');
      return info.ok ? (JSON.parse(String(info.body[0])) as { state: string }).state : `error ${info.name}`;
    };
    const call = (method: string, args: string[] = []): ReturnType<typeof callApi> => callApi(client, vmm, method, args);

    const config = JSON.stringify({
      payload: {
        kernel: kit.vmlinux, initramfs: kit.initramfs,
        cmdline: `${BASE_CMDLINE} ${run64(['i=0; while true; do i=$((i+1)); echo beat-$i; sleep 1; done'])}`,
      },
      memory: { size: 256 * 2 ** 20 },
      serial: { mode: 'File', file: serialPath },
      console: { mode: 'Off' },
    });
    t.same(await call('VmCreate', [config]), { ok: true, body: [] }, 'VmCreate');
    t.equal(await state(), 'Created');
    t.same(await call('VmBoot'), { ok: true, body: [] }, 'VmBoot');
    t.equal(await state(), 'Running');
    await waitUntil(() => output().includes(BOOTED_MARKER) && /beat-2/.test(output()), 'the guest to boot and beat', 400_000, () => output().slice(-600));
    t.pass('the guest booted');

    t.match(await call('VmBoot'), { ok: false, name: `${ERROR}.InvalidState` }, 'Running: VmBoot is refused');
    t.match(await call('VmResume'), { ok: false, name: `${ERROR}.InvalidState` }, 'Running: VmResume is refused');
    t.match(await call('VmCreate', [config]), { ok: false, name: `${ERROR}.VmAlreadyCreated` }, 'Running: VmCreate is refused');
    const counters = await call('VmCounters');
    t.ok(counters.ok && typeof JSON.parse(String(counters.body[0])) === 'object', 'Running: VmCounters answers JSON');

    t.same(await call('VmPause'), { ok: true, body: [] }, 'VmPause');
    t.equal(await state(), 'Paused');
    t.match(await call('VmPause'), { ok: false, name: `${ERROR}.InvalidState` }, 'Paused: VmPause is refused');
    t.match(await call('VmBoot'), { ok: false, name: `${ERROR}.InvalidState` }, 'Paused: VmBoot is refused');
    t.same(await call('VmResume'), { ok: true, body: [] }, 'VmResume');
    t.equal(await state(), 'Running');
    const beats = (): number => output().match(/beat-\d+/g)?.length ?? 0;
    const before = beats();
    await waitUntil(() => beats() > before, 'a beat after VmResume', 60_000, () => output().slice(-300));
    t.pass('the guest runs again after VmResume');

    t.same(await call('VmShutdown'), { ok: true, body: [] }, 'VmShutdown');
    t.equal(await state(), 'Shutdown');
    t.match(await call('VmPause'), { ok: false, name: `${ERROR}.InvalidState` }, 'Shutdown: VmPause is refused');
    t.same(await call('VmDelete'), { ok: true, body: [] }, 'VmDelete');
    t.equal(await state(), `error ${ERROR}.VmNotCreated`);

    await waitUntil(() => names().includes('vm:deleted'), 'vm:deleted as a signal', 30_000, () => names().join(' '));
    const wanted = ['vm:booting', 'vm:booted', 'vm:pausing', 'vm:paused', 'vm:resuming', 'vm:resumed', 'vm:shutdown', 'vm:deleted'];
    t.same(names().filter((name) => wanted.includes(name)), wanted, `the life cycle as Event signals, in order: ${names().join(' ')}`);

    t.same(await call('VmmShutdown'), { ok: true, body: [] }, 'VmmShutdown is answered');
    t.equal(await vmm.exited(), 0, 'and ends tsvmm with status 0');
  });
}

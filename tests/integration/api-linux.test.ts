// The life cycle over the API on the kit's Linux, followed through events:
// create -> boot -> pause (the guest's clock-driven output stops) -> resume
// (it goes on) -> reboot (a second boot in the same process) -> "stop"
// typed on the socket console ends the guest's loop, /init exits, the kernel
// panics and reports it through pvpanic (guest panic event), and with
// panic=-1 resets (rebooting, rebooted) -> shutdown -> delete. The
// event-monitor file and the event stream must tell the same story.
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { TsvmmClient, type EventRecord } from '../../src/api/client.js';
import { ApiVmm } from '../helpers/api.js';
import { BASE_CMDLINE, BOOTED_MARKER, guestKit, run64, skipWithoutKvm } from '../helpers/tsvmm.js';
import { sleep, waitUntil } from '../helpers/wait.js';

const name = (record: EventRecord): string => `${record.source}:${record.event}`;

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

/** The guest prints beat-1, beat-2, ... once a second until it reads "stop" on its console. */
function beats(text: string): number {
  return text.match(/beat-\d+/g)?.length ?? 0;
}

/** Whether `wanted` appears in `events` in this order, other events allowed in between. */
function inOrder(events: string[], wanted: string[]): boolean {
  let next = 0;
  for (const event of events) if (event === wanted[next]) next++;
  return next === wanted.length;
}

if (!skipWithoutKvm(t, import.meta.url)) {
  t.test('create, boot, pause, resume, reboot, panic, shutdown and delete a Linux guest, followed by events', async (t) => {
    const kit = guestKit();
    const dir = mkdtempSync(join(tmpdir(), 'tsvmm-api-linux-'));
    const monitorPath = join(dir, 'events.json');
    const consolePath = join(dir, 'serial.sock');
    const vmm = await ApiVmm.start(['--event-monitor', `path=${monitorPath}`]);
    t.teardown(() => vmm.stop());
    const client = new TsvmmClient(vmm.socketPath);
    t.teardown(() => client.close());
    const streamed: EventRecord[] = [];
    const following = (async () => { for await (const record of client.events()) streamed.push(record); })();

    let output = '';
    const waitFor = (predicate: () => boolean, what: string, ms = 400_000): Promise<void> =>
      waitUntil(predicate, what, ms, () => `console tail: ${output.slice(-800)}`);
    const state = async (): Promise<string> => (await client.info()).state;

    // The body spells out Cloud Hypervisor's defaults in every section, and its
    // unset sections as null, as Cloud Hypervisor's vm.info returns them.
    await client.create({
      payload: {
        kernel: kit.vmlinux,
        initramfs: kit.initramfs,
        cmdline: `${BASE_CMDLINE} tsvmm.end=panic ${run64([
          'i=0; while true; do i=$((i+1)); echo beat-$i; read -t 1 line && [ "$line" = stop ] && break; done',
        ])}`,
      },
      cpus: {
        boot_vcpus: 1, max_vcpus: 1, kvm_hyperv: false, max_phys_bits: 46, features: { amx: false }, nested: true,
        core_scheduling: 'Vm', profile: 'Host',
      },
      memory: {
        size: 256 * 2 ** 20, mergeable: false, hotplug_method: 'Acpi', shared: false, hugepages: false, prefault: false,
        reserve: false, thp: true,
      },
      serial: { mode: 'Socket', socket: consolePath },
      console: { mode: 'Off', iommu: false, pci_segment: 0 },
      debug_console: { mode: 'Off', iobase: 0xe9 },
      rng: { src: '/dev/urandom', iommu: false, pci_segment: 0 },
      pvpanic: true,
      iommu: false, watchdog: false, landlock_enable: false,
      ...({
        rate_limit_groups: null, disks: null, net: null, balloon: null, fs: null, pmem: null, devices: null, user_devices: null,
        vdpa: null, vsock: null, numa: null, rtc: null, pci_segments: null, platform: null, tpm: null, landlock_rules: null,
      } as object),
    });
    const console = connect(consolePath);
    console.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    await client.boot();
    t.equal(await state(), 'Running');
    await waitFor(() => output.includes(BOOTED_MARKER), 'the marker');
    await waitFor(() => beats(output) >= 2, 'the guest to beat');

    await client.pause();
    t.equal(await state(), 'Paused');
    await sleep(1000); // output the guest wrote before it stopped may still be on its way
    const beatsWhenPaused = beats(output);
    await sleep(3000);
    t.equal(beats(output), beatsWhenPaused, 'no output while paused');
    await client.resume();
    t.equal(await state(), 'Running');
    await waitFor(() => beats(output) > beatsWhenPaused, 'a beat after resume', 60_000);
    t.pass('the guest runs again after resume');

    await client.reboot();
    t.equal(await state(), 'Running');
    await waitFor(() => count(output, 'Linux version') >= 2, 'the second boot');
    await waitFor(() => count(output, BOOTED_MARKER) >= 2 && /beat-\d+\s*$/.test(output), 'the second boot to beat');
    t.pass('a second boot in the same process, the console client still attached');

    console.write('stop\n');
    // The console's bytes and the event travel apart: wait for each.
    await waitFor(() => /TSVMM_GUEST_DONE[^]*Kernel panic/.test(output), 'the loop to end and the kernel to panic');
    t.pass('the line typed on the console ended the loop, and the kernel panicked');
    await waitFor(() => streamed.some((r) => name(r) === 'guest:panic'), 'the guest panic event');
    await waitFor(() => streamed.filter((r) => name(r) === 'vm:rebooted').length >= 2, 'the reset after the panic');

    await client.shutdown();
    t.equal(await state(), 'Shutdown');
    await client.delete();
    await t.rejects(client.info(), { status: 404, code: 'VmNotCreated' }, 'gone');
    console.destroy();
    t.equal(await vmm.stop(), 0, 'vmm.shutdown ends tsvmm with 0');
    await following;

    const fromFile = readFileSync(monitorPath, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as EventRecord);
    const names = fromFile.map(name);
    t.ok(inOrder(names, [
      'vmm:starting', 'vm:booting', 'vm:booted', 'virtio-device:activated', 'vm:pausing', 'vm:paused', 'vm:resuming',
      'vm:resumed', 'vm:rebooting', 'vm:rebooted', 'virtio-device:activated', 'guest:panic', 'vm:rebooting', 'vm:rebooted',
      'vm:shutdown', 'vm:deleted', 'vmm:shutdown',
    ]), `every event of the story, in order: ${names.join(' ')}`);
    t.ok(names.includes('virtio-device:reset'), 'Linux resets the rng device before it activates it');
    t.same(fromFile.filter((r) => r.source === 'virtio-device').map((r) => r.properties?.id),
      fromFile.filter((r) => r.source === 'virtio-device').map(() => '_rng0'), 'device events name the device');
    t.same(fromFile.filter((r) => name(r) === 'vm:rebooting').map((r) => r.properties), [null, { reason: 'guest' }],
      'the API reboot and the guest reset are told apart');
    t.same(streamed, fromFile.filter((r) => name(r) !== 'vmm:starting'), 'the stream carried the same events');
  });
}

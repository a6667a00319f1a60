// The life cycle over the API on the kit's Linux: create -> boot -> Running
// -> pause (the guest's clock-driven output stops) -> resume (it goes on)
// -> reboot (a second boot in the same process) -> shutdown -> delete.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ApiVmm } from '../helpers/api.js';
import { BASE_CMDLINE, BOOTED_MARKER, guestKit, skipWithoutKvm } from '../helpers/tsvmm.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

/** The guest prints beat-1, beat-2, ... once a second; the command line itself only has "beat-$i". */
function beats(text: string): number {
  return text.match(/beat-\d+/g)?.length ?? 0;
}

if (!skipWithoutKvm(t)) {
  t.test('create, boot, pause, resume, reboot, shutdown and delete a Linux guest', async (t) => {
    const kit = guestKit();
    const serialFile = join(mkdtempSync(join(tmpdir(), 'tsvmm-api-linux-')), 'serial.log');
    const serial = (): string => {
      try {
        return readFileSync(serialFile, 'utf8');
      } catch {
        return '';
      }
    };
    const waitFor = async (predicate: () => boolean, what: string, ms = 400_000): Promise<void> => {
      const deadline = Date.now() + ms;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; serial tail: ${serial().slice(-800)}`);
        await sleep(200);
      }
    };
    const vmm = await ApiVmm.start();
    t.teardown(() => vmm.stop());
    const state = async (): Promise<string> => ((await vmm.call('GET', 'vm.info')).body as { state: string }).state;

    const created = await vmm.call('PUT', 'vm.create', {
      payload: {
        kernel: kit.vmlinux,
        initramfs: kit.initramfs,
        cmdline: `${BASE_CMDLINE} tsvmm.run="i=0; while true; do i=$((i+1)); echo beat-$i; sleep 1; done"`,
      },
      cpus: { boot_vcpus: 1, max_vcpus: 1 },
      memory: { size: 256 * 2 ** 20 },
      serial: { mode: 'File', file: serialFile },
      console: { mode: 'Off' },
    });
    t.equal(created.status, 204, 'create');
    t.equal((await vmm.call('PUT', 'vm.boot')).status, 204, 'boot');
    t.equal(await state(), 'Running');
    await waitFor(() => serial().includes(BOOTED_MARKER), 'the marker');
    await waitFor(() => beats(serial()) >= 2, 'the guest to beat');

    t.equal((await vmm.call('PUT', 'vm.pause')).status, 204, 'pause');
    t.equal(await state(), 'Paused');
    const beatsWhenPaused = beats(serial());
    await sleep(3000);
    t.equal(beats(serial()), beatsWhenPaused, 'no output while paused');

    t.equal((await vmm.call('PUT', 'vm.resume')).status, 204, 'resume');
    t.equal(await state(), 'Running');
    await waitFor(() => beats(serial()) > beatsWhenPaused, 'a beat after resume', 60_000);
    t.pass('the guest runs again after resume');

    t.equal((await vmm.call('PUT', 'vm.reboot')).status, 204, 'reboot');
    t.equal(await state(), 'Running');
    await waitFor(() => count(serial(), 'Linux version') >= 2, 'the second boot');
    t.pass('a second boot in the same process');

    t.equal((await vmm.call('PUT', 'vm.shutdown')).status, 204, 'shutdown');
    t.equal(await state(), 'Shutdown');
    t.equal((await vmm.call('PUT', 'vm.delete')).status, 204, 'delete');
    t.equal((await vmm.call('GET', 'vm.info')).status, 404, 'gone');
    t.equal(await vmm.stop(), 0, 'vmm.shutdown ends tsvmm with 0');
  });
}

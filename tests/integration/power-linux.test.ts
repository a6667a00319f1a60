// Through the API, on the kit's Linux with 2 vCPUs: pause stops the guest
// (its once-a-second count stops advancing) and resume restarts it; the
// ACPI power button makes busybox acpid power the guest off cleanly, and
// the VM ends Shutdown.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ApiVmm, expectOk } from '../helpers/api.js';
import { BASE_CMDLINE, guestKit, run64, skipWithoutKvm } from '../helpers/tsvmm.js';
import { sleep, waitUntil } from '../helpers/wait.js';


if (!skipWithoutKvm(t, import.meta.url)) {
  t.test('pause and resume with 2 vCPUs, then the power button', async (t) => {
    const kit = guestKit();
    const serial = join(mkdtempSync(join(tmpdir(), 'tsvmm-power-')), 'serial.log');
    const output = (): string => (existsSync(serial) ? readFileSync(serial, 'utf8') : '');
    const lastCount = (): number => Number([...output().matchAll(/count=(\d+)/g)].at(-1)?.[1] ?? 0);
    const waitFor = (test: () => boolean, what: string, ms = 600_000): Promise<void> =>
      waitUntil(test, what, ms, () => `serial tail: ${output().slice(-300)}`);
    const commands = [
      'retry mkdir -p /etc/acpi/PWRF',
      'printf "#!/bin/sh\\necho POWER_BUTTON_PRESSED\\nsync\\npoweroff -f\\n" > /etc/acpi/PWRF/00000080',
      'retry chmod +x /etc/acpi/PWRF/00000080',
      // Started again if it did not come up (see guest/linux/README.md: forks sometimes crash on this host).
      'until pidof acpid > /dev/null; do acpid -d -c /etc/acpi > /dev/console 2>&1 & sleep 1; done; echo ACPID_STARTED',
      'i=0; while true; do i=$((i+1)); echo count=$i; sleep 1; done',
    ];
    const vmm = await ApiVmm.start();
    t.teardown(() => vmm.stop());
    expectOk(t, await vmm.call('PUT', 'vm.create', {
      payload: {
        kernel: kit.vmlinux, initramfs: kit.initramfs,
        cmdline: `${BASE_CMDLINE} ${run64(commands)}`,
      },
      cpus: { boot_vcpus: 2, max_vcpus: 2 }, memory: { size: 256 * 2 ** 20 }, serial: { mode: 'File', file: serial },
    }), 204, 'create');
    expectOk(t, await vmm.call('PUT', 'vm.boot'), 204, 'boot');
    await waitFor(() => lastCount() >= 3, 'the guest to count');
    t.match(output(), /ACPID_STARTED/);

    expectOk(t, await vmm.call('PUT', 'vm.pause'), 204, 'pause');
    const paused = lastCount();
    await sleep(4000);
    t.equal(lastCount(), paused, 'no count while paused');
    t.match((await vmm.call('GET', 'vm.info')).body, { state: 'Paused' });

    expectOk(t, await vmm.call('PUT', 'vm.resume'), 204, 'resume');
    await waitFor(() => lastCount() >= paused + 2, 'the count to go on');
    t.pass('counting again after resume');

    // Pressed again, as a person would, if nothing happened within 30 s.
    let state = '';
    for (let press = 0; press < 5 && state !== 'Shutdown'; press++) {
      expectOk(t, await vmm.call('PUT', 'vm.power-button'), 204, `power button, press ${press + 1}`);
      for (let i = 0; i < 60 && state !== 'Shutdown'; i++) {
        await sleep(500);
        state = ((await vmm.call('GET', 'vm.info')).body as { state: string }).state;
      }
    }
    t.equal(state, 'Shutdown', 'the guest powered itself off');
    t.match(output(), /POWER_BUTTON_PRESSED/, "through acpid's action");
  });
}

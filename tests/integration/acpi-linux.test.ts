// SMP and ACPI on the kit's Linux: with 2 vCPUs the guest brings both up
// from the MADT and runs work on each; it reads tsvmm's tables and finds
// the virtio disk through the DSDT (nothing on its command line). A guest
// reboot boots it again in the same process, and its power-off ends tsvmm
// with status 0. The reboot goes through the BIOS reset vector (reboot=b), the
// way Debian's kernel ends up rebooting (src/arch/x86_64/reset-vector.ts).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { BASE_CMDLINE, BOOTED_MARKER, guestKit, run64, runTsvmm, skipWithoutKvm } from '../helpers/tsvmm.js';

if (!skipWithoutKvm(t, import.meta.url)) {
  t.test('2 vCPUs, devices from the DSDT, reboot in the same process, then power-off', async (t) => {
    const kit = guestKit();
    const disk = join(mkdtempSync(join(tmpdir(), 'tsvmm-acpi-linux-')), 'disk.img');
    const image = new Uint8Array(2 ** 20);
    image.set(new TextEncoder().encode('first-boot\n')); // a short first line for the guest's `read`
    writeFileSync(disk, image);
    // The disk remembers the first boot, so the second one knows it is the second.
    // The probes use shell built-ins, and programs run under `retry`: on the
    // development hosts a program sometimes crashes as it starts (guest/linux/README.md).
    const commands = [
      'read -r first < /dev/vda; if [ "$first" = rebooted-ok ]; then echo SECOND_BOOT; retry poweroff -f; fi',
      'read -r online < /sys/devices/system/cpu/online; echo cpus-online=$online',
      'echo tables=$(cd /sys/firmware/acpi/tables && echo *)',
      'count() { n=0; for f in "$@"; do [ -e "$f" ] && n=$((n+1)); done; echo $n; }',
      'echo acpi-virtio=$(count /sys/bus/acpi/devices/LNRO0005:*)',
      'echo ged=$(count /sys/bus/acpi/devices/ACPI0013:*) button=$(count /sys/bus/acpi/devices/PNP0C0C:*)',
      'read -r cmdline < /proc/cmdline; case "$cmdline" in *virtio_mmio.device*) echo cmdline-devices ;; *) echo no-cmdline-devices ;; esac',
      'for cpu in 0 1; do retry taskset -c $cpu sh -c "i=0; while [ \\$i -lt 300 ]; do i=\\$((i+1)); done; echo ran-on-cpu$cpu"; done',
      'echo rebooted-ok > /dev/vda',
      'until sync; do :; done',
      'retry reboot -f',
    ];
    const result = await runTsvmm([
      '--kernel', kit.vmlinux, '--initramfs', kit.initramfs,
      '--cmdline', `${BASE_CMDLINE.replace('reboot=k', 'reboot=b')} ${run64(commands)}`,
      '--cpus', 'boot=2', '--memory', 'size=256M', '--disk', `path=${disk}`,
    ], { timeoutMs: 840_000, watch: ['SECOND_BOOT'] });
    t.equal(result.code, 0, `the guest's power-off ends tsvmm with 0 (stderr: ${result.stderr.slice(-300)})`);
    t.match(result.stdout, /smp: Brought up 1 node, 2 CPUs/);
    t.match(result.stdout, /cpus-online=0-1\s/, 'both CPUs online');
    t.match(result.stdout, /tables=.*APIC.*DSDT.*FACP/, 'the guest sees the MADT, DSDT and FADT');
    t.match(result.stdout, /acpi-virtio=2\b/, 'the disk and the rng (every VM has one, as in Cloud Hypervisor) are ACPI devices (LNRO0005)');
    t.match(result.stdout, /ged=1 button=1/, 'the Generic Event Device and the power button');
    t.match(result.stdout, /no-cmdline-devices/);
    t.match(result.stdout, /ran-on-cpu0[\s\S]*ran-on-cpu1/, 'work ran on each CPU');
    t.equal(result.stdout.split(BOOTED_MARKER).length - 1, 2, 'the guest booted twice in one process');
    t.match(result.stdout, /SECOND_BOOT/);
  });
}

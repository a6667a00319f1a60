// An unmodified distribution: Debian 12's stock kernel, the initrd its
// initramfs-tools made, and systemd from a debootstrapped root disk
// (guest/distro.ts). Its initrd finds the virtio-mmio disk only through the
// DSDT (the stock kernel has no virtio_mmio.device= support), udev loads the
// drivers from their modaliases, root logs in on ttyS0 and hvc0, a file
// written before a reboot is there after it, `systemctl poweroff` ends tsvmm
// with 0, and the ACPI power button makes logind power the guest off.
//
// Opt-in (TSVMM_TEST_DISTRO=1): inside the nested KVM of tests/l1/ this guest
// stalled or triple-faulted in three of its four boots on 2026-12-03, once
// after a full first boot that passed every check up to the reboot. Later that
// day the same image booted to the marker under tsvmm in 67-96 s (3 of 3,
// then powered off) and under QEMU microvm with ACPI in 64 s in the same L1,
// and the next boot ended in a stall of L1 itself (both its CPUs idle, no
// output): the nested platform's fault of tests/l1/README.md, not the guest's.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ApiVmm, expectOk } from '../helpers/api.js';
import { BOOTED_MARKER, distroImage, distroRootCopy, run64, runTsvmm, skipWithoutKvm } from '../helpers/tsvmm.js';
import { scaled, sleep, waitUntil } from '../helpers/wait.js';
import { DISTRO_HOSTNAME, DISTRO_TEST_ENV, distroTestWanted, type DistroImage } from '../../guest/distro.js';

const CMDLINE = 'console=ttyS0 root=/dev/vda rw';
const PROMPT = `root@${DISTRO_HOSTNAME}:~#`;

/** Each test counts as skipped, so the run's last lines count them. */
const optIn = distroTestWanted() ? false : `opt-in (${DISTRO_TEST_ENV}=1): Debian's kernel stalls inside the nested KVM (see this file's header)`;

interface Guest { image: DistroImage; dir: string; root: string }
let guest: Guest | undefined;
/** One copy of the root image for both tests, in turn: inside L1 a copy takes minutes. */
function prepared(): Guest {
  if (!guest) {
    const dir = mkdtempSync(join(tmpdir(), 'tsvmm-distro-'));
    guest = { image: distroImage(), dir, root: distroRootCopy(dir) };
  }
  return guest;
}

if (!skipWithoutKvm(t, import.meta.url)) {
  t.test('Debian boots to multi-user.target, logs in, keeps a file across a reboot, powers off', { skip: optIn }, async (t) => {
    const { image, dir, root } = prepared();
    const hvc = join(dir, 'hvc0.log');
    const token = `token-${process.pid}-${Date.now()}`;
    const commands = [
      `if [ -f /root/persist ]; then echo "SECOND_BOOT persisted=$(cat /root/persist)"; systemctl --no-block poweroff; exit 0; fi`,
      'echo "state=$(systemctl is-system-running)"',
      'systemctl --failed --no-legend --plain | sed "s/^/FAILED_UNIT /"',
      'echo "acpi-virtio=$(ls -d /sys/bus/acpi/devices/LNRO0005:* | wc -l)"',
      'for d in /sys/bus/virtio/devices/*; do echo "virtio-driver=$(basename "$(readlink "$d/driver")")"; done',
      'echo "root-mount=$(findmnt -no SOURCE,FSTYPE /)"',
      'echo "modules=$(lsmod | awk \'{print $1}\' | grep -E "^(virtio|button)" | sort | tr "\\n" ,)"',
      'dmesg --level=emerg,alert,crit,err,warn | sed "s/^/DMESG /"',
      `echo ${token} > /root/persist`,
      'sync',
      'systemctl --no-block reboot',
    ];
    const result = await runTsvmm([
      '--kernel', image.kernel, '--initramfs', image.initrd, '--cmdline', `${CMDLINE} ${run64(commands)}`,
      '--cpus', 'boot=1', '--memory', 'size=512M', '--disk', `path=${root}`,
      '--serial', 'tty', '--console', `file=${hvc}`, '-v',
    ], {
      timeoutMs: 90_000,
      watch: ['SECOND_BOOT'],
      // The login on ttyS0 is checked by a command typed at its prompt.
      answers: [{ when: PROMPT, send: 'echo "typed-at-ttyS0=$((6 * 7))"\n' }],
    });
    const out = result.stdout;
    t.equal(result.code, 0, `systemctl poweroff ends tsvmm with 0 (stderr: ${result.stderr.slice(-300)})`);
    t.equal(out.split(BOOTED_MARKER).length - 1, 2, 'multi-user.target reached twice in one process (a reboot)');
    t.match(out, /state=(running|degraded)/, 'systemd is up');
    t.notMatch(out, /FAILED_UNIT/, 'no unit failed');
    t.match(out, /acpi-virtio=2\b/, 'the disk and the rng are found through the DSDT');
    t.match(out, /virtio-driver=virtio_blk/, 'udev bound virtio_blk');
    t.match(out, /virtio-driver=virtio_rng/, 'and virtio_rng');
    t.match(out, /virtio-driver=virtio_console/, 'and virtio_console');
    t.match(out, /root-mount=\/dev\/vda ext4/, 'root is the virtio disk');
    t.match(out, /typed-at-ttyS0=42/, 'root is logged in on ttyS0 and its shell runs what is typed');
    t.match(existsSync(hvc) ? readFileSync(hvc, 'utf8') : '', /automatic login/, 'and on hvc0');
    t.match(out, new RegExp(`SECOND_BOOT persisted=${token}`), 'the file written before the reboot is there after it');
    const dmesg = [...out.matchAll(/^DMESG (.*)$/gm)].map((m) => (m[1] ?? '').trim());
    t.comment(`the guest's kernel warnings and errors (${dmesg.length}):\n${dmesg.join('\n')}`);
    t.same(dmesg.filter((line) => /virtio|LNRO|8250|serial|i8042|ACPI|vda/i.test(line)), [], "no kernel warning about tsvmm's devices");
  });

  t.test('the ACPI power button: systemd-logind powers Debian off and the VM ends Shutdown', { skip: optIn }, async (t) => {
    const { image, dir, root } = prepared();
    const serial = join(dir, 'serial.log');
    const output = (): string => (existsSync(serial) ? readFileSync(serial, 'utf8') : '');
    const vmm = await ApiVmm.start();
    t.teardown(() => vmm.stop());
    expectOk(t, await vmm.call('PUT', 'vm.create', {
      payload: { kernel: image.kernel, initramfs: image.initrd, cmdline: CMDLINE },
      cpus: { boot_vcpus: 1, max_vcpus: 1 }, memory: { size: 512 * 2 ** 20 },
      disks: [{ path: root }], serial: { mode: 'File', file: serial }, console: { mode: 'Off' },
    }), 204, 'create');
    expectOk(t, await vmm.call('PUT', 'vm.boot'), 204, 'boot');
    await waitUntil(() => output().includes(BOOTED_MARKER), 'multi-user.target', 60_000, () => output().slice(-500));
    let state = '';
    // Pressed again, as a person would, if nothing happened within a minute (a press can come before logind watches the button).
    for (let press = 0; press < 5 && state !== 'Shutdown'; press++) {
      expectOk(t, await vmm.call('PUT', 'vm.power-button'), 204, `power button, press ${press + 1}`);
      const until = Date.now() + scaled(60_000);
      while (Date.now() < until && state !== 'Shutdown') {
        await sleep(500);
        state = ((await vmm.call('GET', 'vm.info')).body as { state: string }).state;
      }
    }
    t.equal(state, 'Shutdown', 'the guest powered itself off');
    t.match(output(), /Power key pressed|Powering off|reboot: Power down/, 'through logind and systemd');
  });
}

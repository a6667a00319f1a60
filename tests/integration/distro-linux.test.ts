// An unmodified distribution: Debian 12's stock kernel, the initrd its
// initramfs-tools made, and systemd from a debootstrapped root disk
// (guest/distro.ts). Its initrd finds the virtio-mmio disk only through the
// DSDT (the stock kernel has no virtio_mmio.device= support), udev loads the
// drivers from their modaliases, root logs in on ttyS0 and hvc0, a file
// written before a reboot is there after it, `systemctl poweroff` ends tsvmm
// with 0. distro-cloud-linux.test.ts has the cloud-init workflow, networking,
// vm.reboot and the power button.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { DISTRO_HOSTNAME, distroTestSkip } from '../../guest/distro.js';
import { BOOTED_MARKER, distroImage, distroRootCopy, run64, runTsvmm, skipWithoutKvm } from '../helpers/tsvmm.js';

// cloud-init is the other file's; here it is off for the boot (it would find no seed, and
// its Python start costs minutes under emulation). `quiet`: the kernel's and systemd's
// messages cost two or more exits a byte on the serial port; the checks read `dmesg`.
const CMDLINE = 'console=ttyS0 root=/dev/vda rw quiet cloud-init=disabled';
const PROMPT = `root@${DISTRO_HOSTNAME}:~#`;

/** The lines of `out` the guest tagged with `tag`, without it. */
function lines(out: string, tag: string): string[] {
  return [...out.matchAll(new RegExp(`^${tag} (.*)$`, 'gm'))].map((m) => (m[1] ?? '').trim());
}

/** Counted as skipped, so the run's last lines count it. */
const noDistro = distroTestSkip();

if (!skipWithoutKvm(t, import.meta.url)) {
  t.test('Debian boots to multi-user.target, logs in, keeps a file across a reboot, powers off', { skip: noDistro }, async (t) => {
    const image = distroImage();
    const dir = mkdtempSync(join(tmpdir(), 'tsvmm-distro-'));
    const root = distroRootCopy(dir);
    const hvc = join(dir, 'hvc0.log');
    const token = `token-${process.pid}-${Date.now()}`;
    const commands = [
      `if [ -f /root/persist ]; then echo "SECOND_BOOT persisted=$(cat /root/persist)"; systemctl --no-block poweroff; exit 0; fi`,
      // This runs in the marker's own unit, so systemd is "starting" until it ends: wait for every other job.
      'for i in $(seq 180); do [ -z "$(systemctl list-jobs --no-legend | grep -v tsvmm-marker)" ] && break; sleep 1; done',
      'echo "jobs-left=$(systemctl list-jobs --no-legend | grep -vc tsvmm-marker)"',
      'for i in $(seq 180); do who | grep -q hvc0 && break; sleep 1; done; echo "hvc0-sessions=$(who | grep -c hvc0)"',
      'systemctl --failed --no-legend --plain | sed "s/^/FAILED_UNIT /"',
      'echo "acpi-virtio=$(ls -d /sys/bus/acpi/devices/LNRO0005:* | wc -l)"',
      'for d in /sys/bus/virtio/devices/*; do echo "virtio-driver=$(basename "$(readlink "$d/driver")")"; done',
      'echo "root-mount=$(findmnt -no SOURCE,FSTYPE /)"',
      'echo "modules=$(lsmod | awk \'{print $1}\' | grep -E "^(virtio|button)" | sort | tr "\\n" ,)"',
      'dmesg --level=emerg,alert,crit,err,warn | sed "s/^/DMESG /"',
      'dmesg | grep -iE "virtio|LNRO0005|serial8250|ttyS0|i8042|rtc_cmos|Power Button|vda|hvc0|PCI host bridge|pvpanic" | sed "s/^/DEVICE /"',
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
    t.match(out, /jobs-left=0\b/, 'systemd started every unit');
    t.notMatch(out, /FAILED_UNIT/, 'no unit failed');
    t.match(out, /acpi-virtio=3\b/, 'the disk, the rng and the console are found through the DSDT');
    t.match(out, /virtio-driver=virtio_blk/, 'udev bound virtio_blk');
    t.match(out, /virtio-driver=virtio_rng/, 'and virtio_rng');
    t.match(out, /virtio-driver=virtio_console/, 'and virtio_console');
    t.match(out, /root-mount=\/dev\/vda ext4/, 'root is the virtio disk');
    t.match(out, /typed-at-ttyS0=42/, 'root is logged in on ttyS0 and its shell runs what is typed');
    t.match(out, /hvc0-sessions=[1-9]/, 'and on hvc0');
    t.match(existsSync(hvc) ? readFileSync(hvc, 'utf8') : '', /automatic login/, "hvc0's login is in the console file");
    t.match(out, new RegExp(`SECOND_BOOT persisted=${token}`), 'the file written before the reboot is there after it');
    const dmesg = lines(out, 'DMESG');
    t.comment(`what the guest's kernel says about each device:\n${lines(out, 'DEVICE').join('\n')}`);
    t.comment(`the guest's kernel warnings and errors (${dmesg.length}):\n${dmesg.join('\n')}`);
    // The i8042 has a keyboard port only (no mouse), which the kernel notes at warning level.
    const expected = /i8042: PNP: PS\/2 appears to have AUX port disabled/;
    t.same(dmesg.filter((line) => /virtio|LNRO|8250|serial|i8042|ACPI|vda/i.test(line) && !expected.test(line)), [], "no kernel warning about tsvmm's devices");
  });
}

// The kit's Linux boots from both payload formats to its marker and talks
// over the serial port in both directions. The vmlinux boot uses ACPI and
// ends tsvmm with 0 by powering off; the bzImage boot runs with acpi=off
// and 2 vCPUs, so it finds its CPUs in the MP table and its devices on the
// command line (and is stopped from outside: without ACPI it cannot power off).
// The vmlinux boot also has a virtio console on a UNIX socket: the guest
// reads a line from hvc0 and answers there.
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { BASE_CMDLINE, BOOTED_MARKER, guestKit, runTsvmm, skipWithoutKvm } from '../helpers/tsvmm.js';

if (!skipWithoutKvm(t, import.meta.url)) {
  const kit = guestKit();
  // The guest reads one line from its console (the UART's receive path and
  // interrupt) and echoes it back, reads its virtio-rng, and counts its CPUs.
  // Shell built-ins where they do, and `retry` around programs: on the
  // development hosts a program sometimes crashes as it starts (guest/linux/README.md).
  const run = [
    'read -t 120 line; echo guest-got-$line; read -r rng < /sys/class/misc/hw_random/rng_current; echo $rng',
    'retry head -c 16 /dev/hwrng > /tmp/rng; retry od -An -tx1 /tmp/rng',
    'read -r online < /sys/devices/system/cpu/online; echo cpus-online=$online',
  ].join('; ');
  const hvc = 'read -t 120 line < /dev/hvc0; echo hvc-got-$line > /dev/hvc0';
  const boots = [
    { format: 'vmlinux (PVH), ACPI, 1 vCPU, a virtio console', kernel: kit.vmlinux, extra: '', cpus: 1 },
    { format: 'bzImage (64-bit boot protocol), acpi=off, 2 vCPUs', kernel: kit.bzImage, extra: 'acpi=off', cpus: 2 },
  ];

  for (const { format, kernel, extra, cpus } of boots) {
    t.test(`boots ${format} to the marker`, async (t) => {
      const acpi = extra === '';
      const consoleSocket = join(mkdtempSync(join(tmpdir(), 'tsvmm-boot-linux-')), 'hvc.sock');
      let hvcOutput = '';
      const attachHvc = (): void => {
        const client = connect(consoleSocket, () => client.write('hello-hvc\n'));
        client.on('data', (chunk: Buffer) => { hvcOutput += chunk.toString(); });
        client.on('error', () => {});
        t.teardown(() => client.destroy());
      };
      const result = await runTsvmm([
        '--kernel', kernel, '--initramfs', kit.initramfs,
        '--cmdline', `${BASE_CMDLINE} ${extra} tsvmm.run="${acpi ? `${run}; ${hvc}` : run}"`,
        '--cpus', `boot=${cpus}`, '--memory', 'size=256M', '--serial', 'tty', '--rng', 'src=/dev/urandom',
        '--console', acpi ? `socket=${consoleSocket}` : 'off',
      ], {
        answers: [{ when: BOOTED_MARKER, send: 'hello-serial\n' }], watch: ['TSVMM_GUEST_DONE'],
        onMarker: (marker) => { if (acpi && marker === BOOTED_MARKER) attachHvc(); },
        stopAt: acpi ? undefined : 'TSVMM_GUEST_DONE',
      });
      t.ok(result.markers.has(BOOTED_MARKER), 'the guest printed its marker');
      t.match(result.stdout, /guest-got-hello-serial/, 'input reached the guest and its answer came back');
      t.match(result.stdout, /virtio_rng\.0|virtio0/, 'the guest chose the virtio rng');
      t.match(result.stdout, /( [0-9a-f]{2}){16}/, '16 bytes read from /dev/hwrng');
      t.match(result.stdout, /TSVMM_GUEST_DONE rc=0/, 'its commands ended with status 0');
      t.match(result.stdout, /ttyS0 at I\/O 0x3f8 \(irq = \d+, base_baud = 115200\) is a 16550A/, 'COM1, from the DSDT or probed');
      t.match(result.stdout, new RegExp(`cpus-online=${cpus === 1 ? '0' : `0-${cpus - 1}`}\\s`), `${cpus} CPU(s) online`);
      if (acpi) {
        t.match(result.stdout, /ACPI: DSDT 0x00000000000E\w+ \w+ \(v02 TSVMM/, 'the guest read the DSDT');
        t.notMatch(result.stdout, /virtio_mmio\.device=/, 'no device on the command line');
        t.equal(result.code, 0, `powered off: exit status 0 (stderr: ${result.stderr.slice(-500)})`);
        t.match(hvcOutput, /hvc-got-hello-hvc/, 'a line typed on the virtio console reached the guest, and its answer came back');
      } else {
        t.match(result.stdout, /smp: Brought up 1 node, 2 CPUs/, 'both CPUs found through the MP table');
        t.match(result.stdout, /virtio-mmio: Registering device virtio-mmio\.0 at 0xc0000000-0xc0000fff, IRQ 5/, 'devices from the command line');
        t.equal(result.code, 0, 'stopped by SIGTERM: exit status 0');
      }
      t.comment(`${format}: marker after ${result.markers.get(BOOTED_MARKER)} ms, done after ${result.markers.get('TSVMM_GUEST_DONE')} ms`);
    });
  }
}

// The kit's Linux boots from both payload formats to its marker, talks over
// the serial port in both directions, and `reboot -f` ends tsvmm with 0.
import t from 'tap';
import { BASE_CMDLINE, BOOTED_MARKER, guestKit, runTsvmm, skipWithoutKvm } from '../helpers/tsvmm.js';

if (!skipWithoutKvm(t)) {
  const kit = guestKit();
  // The guest reads one line from its console (the UART's receive path and
  // interrupt) and echoes it back, reads its virtio-rng, and reboots.
  const run = 'tsvmm.run="read -t 120 line; echo guest-got-$line; cat /sys/class/misc/hw_random/rng_current; head -c 16 /dev/hwrng | od -An -tx1"';

  for (const [format, kernel] of [['vmlinux (PVH)', kit.vmlinux], ['bzImage (64-bit boot protocol)', kit.bzImage]] as const) {
    t.test(`boots ${format} to the marker and exits 0 on reboot -f`, async (t) => {
      const result = await runTsvmm([
        '--kernel', kernel, '--initramfs', kit.initramfs, '--cmdline', `${BASE_CMDLINE} ${run}`,
        '--cpus', 'boot=1', '--memory', 'size=256M', '--serial', 'tty', '--console', 'off', '--rng', 'src=/dev/urandom',
      ], { answers: [{ when: BOOTED_MARKER, send: 'hello-serial\n' }], watch: ['TSVMM_GUEST_DONE'] });
      t.ok(result.markers.has(BOOTED_MARKER), 'the guest printed its marker');
      t.match(result.stdout, /guest-got-hello-serial/, 'input reached the guest and its answer came back');
      t.match(result.stdout, /virtio-mmio: Registering device virtio-mmio\.0 at 0xc0000000-0xc0000fff, IRQ 5/);
      t.match(result.stdout, /virtio_rng\.0/, 'the guest chose the virtio rng');
      t.match(result.stdout, /( [0-9a-f]{2}){16}/, '16 bytes read from /dev/hwrng');
      t.match(result.stdout, /TSVMM_GUEST_DONE rc=0/);
      t.match(result.stdout, /serial8250: ttyS0 at I\/O 0x3f8 \(irq = 4, base_baud = 115200\) is a 16550A/);
      t.equal(result.code, 0, `exit status (stderr: ${result.stderr.slice(-500)})`);
      t.comment(`${format}: marker after ${result.markers.get(BOOTED_MARKER)} ms, done after ${result.markers.get('TSVMM_GUEST_DONE')} ms`);
    });
  }
}

// Boot time of an unmodified Debian 12 (guest/distro.ts): from exec to the
// marker its systemd unit prints once multi-user.target is reached, and to the
// process's exit after `systemctl poweroff`, for tsvmm and for QEMU microvm
// with ACPI (the stock kernel finds the virtio-mmio disk through the DSDT on
// both) on the same kernel, initrd and root image, alternating.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { qemuMicrovm } from '../helpers/qemu.js';
import { distroImage, run64, TSVMM } from '../helpers/tsvmm.js';
import { timeBoot, type BootTiming } from './boot.js';

const BOOTS_EACH = 2;
/**
 * `quiet`, as in the tests: without it the kernel's and systemd's messages are
 * most of a boot under emulation (two or more exits a byte on the serial port,
 * in both VMMs), and one boot took 6.5 minutes in L1.
 */
const CMDLINE = `console=ttyS0 root=/dev/vda rw quiet ${run64(['true'])} tsvmm.end=poweroff`;

export interface DistroBoots {
  tsvmm: BootTiming[];
  qemu: BootTiming[];
}

function bootTsvmm(kernel: string, initrd: string, root: string): Promise<BootTiming> {
  return timeBoot(process.execPath, [TSVMM, '--kernel', kernel, '--initramfs', initrd, '--cmdline', CMDLINE,
    '--cpus', 'boot=1', '--memory', 'size=512M', '--disk', `path=${root}`, '--serial', 'tty', '--console', 'off']);
}

function bootQemu(kernel: string, initrd: string, root: string): Promise<BootTiming> {
  // Debian's kernel finds its devices through ACPI, as under tsvmm. Its vmlinuz is a
  // bzImage, which microvm's firmware boots only with the option ROMs (linuxboot):
  // with x-option-roms=off it printed nothing in 10 minutes.
  return timeBoot('qemu-system-x86_64', [
    ...qemuMicrovm('acpi=on'), '-m', '512M', '-smp', '1',
    '-drive', `id=root,file=${root},format=raw,if=none`, '-device', 'virtio-blk-device,drive=root',
    '-kernel', kernel, '-initrd', initrd, '-append', CMDLINE,
  ]);
}

/**
 * A line per boot: a boot takes minutes in L1, and the L1 harness takes a run
 * that prints nothing for 10 minutes for a stalled L1.
 */
function progress(which: string, timing: BootTiming): BootTiming {
  const seconds = (ms: number | null): string => (ms === null ? 'no marker' : `${(ms / 1000).toFixed(1)} s`);
  process.stderr.write(`bench: Debian boot, ${which}: marker ${seconds(timing.marker_ms)}, exit ${seconds(timing.exit_ms)}\n`);
  return timing;
}

export async function benchDistroBoot(withQemu: boolean): Promise<DistroBoots> {
  const image = distroImage();
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-bench-distro-'));
  const root = join(dir, 'rootfs.ext4');
  execFileSync('cp', ['--sparse=always', image.rootfs, root]);
  const boots: DistroBoots = { tsvmm: [], qemu: [] };
  try {
    for (let i = 0; i < BOOTS_EACH; i++) {
      boots.tsvmm.push(progress(`tsvmm ${i + 1}/${BOOTS_EACH}`, await bootTsvmm(image.kernel, image.initrd, root)));
      if (withQemu) boots.qemu.push(progress(`QEMU ${i + 1}/${BOOTS_EACH}`, await bootQemu(image.kernel, image.initrd, root)));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return boots;
}

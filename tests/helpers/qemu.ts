// QEMU for the comparison columns: whether it is there, installing it when
// apt can, and the microvm machine both guests run on.
import { spawnSync } from 'node:child_process';

export function qemuAvailable(): boolean {
  return spawnSync('qemu-system-x86_64', ['--version']).status === 0;
}

/** Installs Debian's qemu-system-x86 when it is missing and apt-get can run (root); never needed by npm test. */
export function ensureQemu(): boolean {
  if (qemuAvailable()) return true;
  if (process.getuid?.() !== 0 || spawnSync('sh', ['-c', 'command -v apt-get']).status !== 0) return false;
  process.stderr.write('bench: installing qemu-system-x86 with apt-get\n');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-q'], { stdio: 'ignore', env });
  spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'qemu-system-x86'], { stdio: 'ignore', env });
  return qemuAvailable();
}

/**
 * microvm without option ROMs, RTC or ACPI, KVM, and the host CPU minus
 * arch-capabilities (QEMU's non-zero write of that MSR is refused on the
 * project's development hosts). Modern virtio-mmio, as tsvmm offers.
 */
export const QEMU_MICROVM = [
  '-M', 'microvm,x-option-roms=off,rtc=off,acpi=off', '-accel', 'kvm', '-cpu', 'host,-arch-capabilities',
  '-nodefaults', '-no-user-config', '-display', 'none', '-monitor', 'none', '-serial', 'stdio', '-no-reboot',
  '-global', 'virtio-mmio.force-legacy=off',
];

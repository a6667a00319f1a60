// QEMU for the comparison columns: whether it is there, installing it when
// apt can, and the microvm machine both guests run on.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { testGuest, testGuestCmdline } from './test-guest.js';

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
 * microvm (by default without option ROMs, RTC or ACPI), KVM, and the host
 * CPU minus arch-capabilities (QEMU's non-zero write of that MSR is refused
 * on the project's development hosts). Modern virtio-mmio, as tsvmm offers.
 * `machine` replaces the machine's options; a bzImage needs the option ROMs.
 */
export function qemuMicrovm(machine = 'x-option-roms=off,rtc=off,acpi=off'): string[] {
  return [
    '-M', `microvm,${machine}`, '-accel', 'kvm', '-cpu', 'host,-arch-capabilities',
    '-nodefaults', '-no-user-config', '-display', 'none', '-monitor', 'none', '-serial', 'stdio', '-no-reboot',
    '-global', 'virtio-mmio.force-legacy=off',
  ];
}

export const QEMU_MICROVM = qemuMicrovm();

/** QEMU microvm running the CPL3 test guest's `test`, with QMP on `qmpPath`; `output()` is its serial output so far. */
export function spawnQemuTestGuest(qmpPath: string, memoryMib: number, test: string, extra: string[] = []): { child: ChildProcess; output: () => string } {
  const child = spawn('qemu-system-x86_64', [...QEMU_MICROVM, '-m', `${memoryMib}M`, '-kernel', testGuest(), '-append', testGuestCmdline(test),
    '-qmp', `unix:${qmpPath},server=on,wait=off`, ...extra], { stdio: ['ignore', 'pipe', 'ignore'] });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => { text += chunk.toString('latin1'); });
  return { child, output: () => text };
}

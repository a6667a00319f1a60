// Boot time of the kit's Linux: from exec to the guest's marker and to the
// process's exit, for tsvmm and for QEMU microvm on the same kernel,
// initramfs and command line. QEMU's microvm has no i8042 and boots this
// kernel's serial console reliably only without ACPI, so it gets `acpi=off`,
// and on this host its guest cannot complete a reset (the triple-fault path
// hits an int3 the host cannot emulate): QEMU's guest is told to reboot, and
// its "exit" is the reset request, after which it is killed. tsvmm's guest
// powers off through ACPI and is timed to tsvmm's real exit.
import { spawn } from 'node:child_process';
import { BOOTED_MARKER, guestKit, TSVMM } from '../helpers/tsvmm.js';

export interface BootTiming {
  marker_ms: number | null;
  exit_ms: number;
}

const RESET_REQUEST = 'reboot: machine restart';

const GUEST_ARGS = 'panic=-1 tsvmm.run="true"';

/** With `endAt`, the run ends when that text appears (and the process is killed). */
export function timeBoot(command: string, args: string[], endAt?: string): Promise<BootTiming> {
  const start = process.hrtime.bigint();
  const elapsed = (): number => Math.round(Number(process.hrtime.bigint() - start) / 1e6);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  let output = '';
  let marker: number | null = null;
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if (marker === null && output.includes(BOOTED_MARKER)) marker = elapsed();
    if (endAt && output.includes(endAt)) child.kill('SIGKILL');
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
  return new Promise((resolve) => child.on('close', () => {
    clearTimeout(timer);
    resolve({ marker_ms: marker, exit_ms: elapsed() });
  }));
}

export function bootTsvmm(format: 'vmlinux' | 'bzImage'): Promise<BootTiming> {
  const kit = guestKit();
  return timeBoot(process.execPath, [TSVMM, '--kernel', kit[format], '--initramfs', kit.initramfs,
    '--cmdline', `console=ttyS0 reboot=k ${GUEST_ARGS}`, '--cpus', 'boot=1', '--memory', 'size=256M',
    '--serial', 'tty', '--console', 'off']);
}

export function bootQemu(): Promise<BootTiming> {
  const kit = guestKit();
  return timeBoot('qemu-system-x86_64', [
    '-M', 'microvm,x-option-roms=off,rtc=off,acpi=off', '-accel', 'kvm', '-cpu', 'host,-arch-capabilities',
    '-m', '256M', '-smp', '1', '-nodefaults', '-no-user-config', '-nographic', '-serial', 'stdio', '-no-reboot',
    '-kernel', kit.vmlinux, '-initrd', kit.initramfs, '-append', `console=ttyS0 reboot=t tsvmm.end=reboot ${GUEST_ARGS}`,
  ], RESET_REQUEST);
}

// Runs the CPL3 test guest under tsvmm (TypeScript or C exit loop) or QEMU
// with the same devices, and times what it reports: exec to its first
// serial byte, and its "TG start" to "TG end" section.
import { spawn, type ChildProcess } from 'node:child_process';
import { parseReport, testGuest, testGuestCmdline } from './test-guest.js';
import { nodeCommand, TSVMM } from './tsvmm.js';
import { QEMU_MICROVM } from './qemu.js';
import { scaled } from './wait.js';

export type GuestVmm = 'tsvmm' | 'tsvmm-c-loop' | 'qemu';

export interface GuestSetup {
  vmm: GuestVmm;
  cmdline: string;
  cpus?: number;
  memoryMib?: number;
  disk?: { path: string; direct?: boolean };
  /** A UDP tunnel from this local port to that remote port on 127.0.0.1. */
  net?: { local: number; remote: number };
  /**
   * Time start-up: tsvmm logs its steps (-vv), QEMU traces its vCPU ioctls.
   * Off otherwise: a user runs neither, and -vv logs the test guest's unclaimed
   * port and MMIO writes (rate-limited, but the limiter reads the clock per exit).
   */
  timeStartup?: boolean;
}

export interface GuestRun {
  values: Record<string, string>;
  result: string | undefined;
  firstByteMs: number | null;
  /** From the guest's "TG start" line to its "TG end" line, as this process saw them. */
  timedMs: number | null;
  /** With `timeStartup`: exec to the first KVM_RUN (tsvmm's -vv log; QEMU's trace of its vCPU ioctls). */
  firstKvmRunMs: number | null;
  /** tsvmm with `timeStartup`: each start-up step its -vv log names, in ms since exec. */
  startupSteps: Array<{ step: string; ms: number }>;
  stdout: string;
}

function tsvmmArgs(setup: GuestSetup): string[] {
  const args = [...(setup.timeStartup ? ['-vv'] : []), '--kernel', testGuest(), '--cmdline', testGuestCmdline(setup.cmdline), '--cpus', `boot=${setup.cpus ?? 1}`,
    '--memory', `size=${setup.memoryMib ?? 128}M`, '--serial', 'tty', '--console', 'off'];
  if (setup.disk) args.push('--disk', `path=${setup.disk.path},direct=${setup.disk.direct ? 'on' : 'off'}`);
  if (setup.net) args.push('--net', `remote=127.0.0.1:${setup.net.remote},local=127.0.0.1:${setup.net.local}`);
  return args;
}

function qemuArgs(setup: GuestSetup): string[] {
  const args = [...QEMU_MICROVM, '-smp', String(setup.cpus ?? 1), '-m', `${setup.memoryMib ?? 128}M`,
    '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', '-kernel', testGuest(), '-append', setup.cmdline];
  if (setup.timeStartup) args.push('-msg', 'timestamp=on', '-trace', 'enable=kvm_vcpu_ioctl');
  if (setup.disk) {
    args.push('-drive', `file=${setup.disk.path},format=raw,if=none,id=d0,cache=${setup.disk.direct ? 'none' : 'writeback'}`,
      '-device', 'virtio-blk-device,drive=d0');
  }
  if (setup.net) {
    args.push('-netdev', `socket,id=n0,udp=127.0.0.1:${setup.net.remote},localaddr=127.0.0.1:${setup.net.local}`,
      '-device', 'virtio-net-device,netdev=n0');
  }
  return args;
}

export interface RunningGuest {
  child: ChildProcess;
  /** Resolves when `text` appears on the guest's serial output (or the guest ends). */
  seen(text: string): Promise<void>;
  done: Promise<GuestRun>;
}

export function startGuest(setup: GuestSetup): RunningGuest {
  const [command, args] = setup.vmm === 'qemu'
    ? ['qemu-system-x86_64', qemuArgs(setup)]
    : nodeCommand(TSVMM, tsvmmArgs(setup));
  const env = { ...process.env, TSVMM_EXIT_LOOP: setup.vmm === 'tsvmm-c-loop' ? 'c' : 'typescript' };
  // Only where start-up is timed: it spins up to a millisecond for the clock's tick.
  const spawnedAt = setup.timeStartup ? wallClockMs() : undefined;
  const started = process.hrtime.bigint();
  const now = (): number => Number(process.hrtime.bigint() - started) / 1e6;
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  let firstByteMs: number | null = null;
  let startMs: number | null = null;
  let endMs: number | null = null;
  const waiters: Array<{ text: string; resolve: () => void }> = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    firstByteMs ??= now();
    stdout += chunk.toString();
    if (startMs === null && stdout.includes('TG start')) startMs = now();
    if (endMs === null && stdout.includes('TG end')) endMs = now();
    for (const waiter of waiters.filter((w) => stdout.includes(w.text))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const timer = setTimeout(() => child.kill('SIGKILL'), scaled(300_000));
  const done = new Promise<GuestRun>((resolve) => child.on('close', () => {
    clearTimeout(timer);
    waiters.splice(0).forEach((waiter) => waiter.resolve());
    resolve({
      ...parseReport(stdout), stdout, firstByteMs,
      timedMs: startMs !== null && endMs !== null ? endMs - startMs : null,
      ...startupTimes(setup.vmm, stderr, spawnedAt),
    });
  }));
  return {
    child,
    seen: (text) => (stdout.includes(text) ? Promise.resolve() : new Promise((resolve) => waiters.push({ text, resolve }))),
    done,
  };
}

/** Wall-clock milliseconds since the epoch, to a few microseconds: Date.now() just after it ticks. */
function wallClockMs(): number {
  const start = Date.now();
  let now = start;
  while (now === start) now = Date.now();
  return now;
}

type StartupTimes = Pick<GuestRun, 'firstKvmRunMs' | 'startupSteps'>;

function startupTimes(vmm: GuestVmm, stderr: string, spawnedAt: number | undefined): StartupTimes {
  if (spawnedAt === undefined) return { startupSteps: [], firstKvmRunMs: null };
  return vmm === 'qemu' ? qemuStartup(stderr, spawnedAt) : tsvmmStartup(stderr, spawnedAt);
}

/** When tsvmm's -vv start-up steps' clock started (wall-clock ms since the epoch), as its log says. */
export function startupClockOrigin(log: string): number | undefined {
  const origin = /start-up: steps are timed from ([\d.]+) ms since the epoch/.exec(log);
  return origin ? Number(origin[1]) : undefined;
}

/**
 * tsvmm's -vv steps count from its process's start, which it logs as wall-clock
 * time; they are moved to count from `spawnedAt`, as QEMU's are.
 */
export function tsvmmStartup(stderr: string, spawnedAt: number): StartupTimes {
  const origin = startupClockOrigin(stderr);
  if (origin === undefined) return { startupSteps: [], firstKvmRunMs: null };
  const execToStart = origin - spawnedAt;
  const startupSteps = [...stderr.matchAll(/start-up: (.+) at (\d+) ms$/gm)]
    .map((m) => ({ step: m[1] as string, ms: Math.round((Number(m[2]) + execToStart) * 10) / 10 }));
  return { startupSteps, firstKvmRunMs: startupSteps.find((s) => s.step === 'vcpu0 enters the guest')?.ms ?? null };
}

/** QEMU's first KVM_RUN (ioctl 0xae80) in its trace of vCPU ioctls, stamped `pid@seconds.microseconds:`. */
function qemuStartup(stderr: string, spawnedAt: number): StartupTimes {
  const first = /^\d+@(\d+\.\d+):kvm_vcpu_ioctl cpu_index \d+, type 0xae80,/m.exec(stderr);
  const firstKvmRunMs = first ? Math.round((Number(first[1]) * 1000 - spawnedAt) * 10) / 10 : null;
  return { startupSteps: [], firstKvmRunMs };
}

export function runGuest(setup: GuestSetup): Promise<GuestRun> {
  return startGuest(setup).done;
}

// Benchmarks through the CPL3 test guest, tsvmm beside QEMU on the same
// binary and devices: exit cost (tsvmm's TypeScript loop against its C
// loop), notification cost, start-up, memory, block and UDP-tunnel network.
// Each figure is the median of several runs, the VMMs alternating.
import { spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeUdpPorts } from '../helpers/net.js';
import { runGuest, startGuest, type GuestRun, type GuestSetup, type GuestVmm } from '../helpers/guest-vmm.js';
import { testGuest, testGuestCmdline } from '../helpers/test-guest.js';
import { TSVMM } from '../helpers/tsvmm.js';
import { median, WORK_DIVISOR } from './stats.js';

const RUNS = 3;
/** For the rows issue 18 sets targets on (exits, start-up): L1 varies by a tenth from run to run. */
const MORE_RUNS = 5;
/** Port writes, MMIO writes and notifications per exit-cost run. */
const EXITS = 100_000 / WORK_DIVISOR;
/** Frames the UDP tunnel benchmark sends. */
export const NET_FRAMES = 200_000 / WORK_DIVISOR;
const MIB = 2 ** 20;

export type PerVmm = Partial<Record<GuestVmm | 'host', number>>;

const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** Runs each VMM RUNS times, alternating, and takes the median of `measure` over the runs that reported. */
async function alternate(vmms: GuestVmm[], setup: (vmm: GuestVmm) => Omit<GuestSetup, 'vmm'>,
  measure: (run: GuestRun) => number | undefined, runs = RUNS): Promise<PerVmm> {
  const samples = new Map<GuestVmm, number[]>(vmms.map((vmm) => [vmm, []]));
  for (let i = 0; i < runs; i++) {
    for (const vmm of vmms) {
      const run = await runGuest({ vmm, ...setup(vmm) });
      const value = run.result === 'ok' ? measure(run) : undefined;
      if (value !== undefined && Number.isFinite(value)) samples.get(vmm)?.push(value);
      else process.stderr.write(`bench: ${vmm} ${setup(vmm).cmdline}: no result\n${run.stdout.slice(-300)}\n`);
    }
  }
  return Object.fromEntries([...samples].filter(([, v]) => v.length > 0).map(([vmm, v]) => [vmm, median(v)]));
}

const perOperationUs = (count: number) => (run: GuestRun): number | undefined =>
  (run.timedMs === null ? undefined : round((run.timedMs * 1000) / count, 2));

export interface ExitCosts { port_us: PerVmm; mmio_us: PerVmm; notify_us: PerVmm }

/** µs per exit for N port writes and N MMIO writes; µs per virtio notification (ioeventfd, no exit to user space). */
export async function benchExits(vmms: GuestVmm[], disk: string): Promise<ExitCosts> {
  const loops: GuestVmm[] = vmms.includes('tsvmm') ? ['tsvmm-c-loop', ...vmms] : vmms;
  return {
    port_us: await alternate(loops, () => ({ cmdline: `test=pio count=${EXITS}` }), perOperationUs(EXITS), MORE_RUNS),
    mmio_us: await alternate(loops, () => ({ cmdline: `test=mmio count=${EXITS}` }), perOperationUs(EXITS), MORE_RUNS),
    notify_us: await alternate(vmms, () => ({ cmdline: `test=notify count=${EXITS}`, disk: { path: disk } }), perOperationUs(EXITS)),
  };
}

/** Milliseconds for the guest to write one byte in each page of 256 MiB (first touch: the VMM's memory, the host's faults). */
export async function benchTouch(vmms: GuestVmm[]): Promise<PerVmm> {
  return alternate(vmms, () => ({ cmdline: 'test=touch mib=256', memoryMib: 512 }), (run) => (run.timedMs === null ? undefined : round(run.timedMs)));
}

export interface Startup {
  first_kvm_run_ms: PerVmm;
  first_serial_byte_ms: PerVmm;
  /** tsvmm's start-up steps in the order they came: median ms since exec of each. */
  steps_ms: Array<{ step: string; ms: number }>;
}

/** The median time of each step over runs, in the order of the first run's steps. */
function medianSteps(runs: Array<Array<{ step: string; ms: number }>>): Array<{ step: string; ms: number }> {
  return (runs[0] ?? []).map(({ step }) => ({ step, ms: median(runs.map((steps) => steps.find((s) => s.step === step)?.ms ?? NaN).filter(Number.isFinite)) }));
}

export async function benchStartup(vmms: GuestVmm[]): Promise<Startup> {
  const steps: Array<Array<{ step: string; ms: number }>> = [];
  return {
    first_kvm_run_ms: await alternate(vmms, () => ({ cmdline: 'test=hello', timeStartup: true }), (run) => {
      if (run.startupSteps.length > 0) steps.push(run.startupSteps);
      return run.firstKvmRunMs ?? undefined;
    }, MORE_RUNS),
    steps_ms: medianSteps(steps),
    first_serial_byte_ms: await alternate(vmms, () => ({ cmdline: 'test=hello' }), (run) => (run.firstByteMs === null ? undefined : round(run.firstByteMs)), MORE_RUNS),
  };
}

/** Resident memory of the VMM process, leaving out the guest RAM mapping (any mapping at least as large). */
function vmmRssMib(pid: number, guestBytes: number): number {
  let rssKib = 0;
  let size = 0;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (range) size = parseInt(range[2] as string, 16) - parseInt(range[1] as string, 16);
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && size < guestBytes) rssKib += Number(rss[1]);
  }
  return round(rssKib / 1024);
}

export interface MemoryUse { small_mib: PerVmm; large_mib: PerVmm }

export async function benchMemory(vmms: GuestVmm[]): Promise<MemoryUse> {
  const measure = async (cpus: number, memoryMib: number): Promise<PerVmm> => {
    const samples = new Map<GuestVmm, number[]>(vmms.map((vmm) => [vmm, []]));
    for (let i = 0; i < RUNS; i++) {
      for (const vmm of vmms) {
        const guest = startGuest({ vmm, cmdline: 'test=idle', cpus, memoryMib });
        await guest.seen('TG idle');
        await new Promise((resolve) => setTimeout(resolve, 500));
        if (guest.child.pid !== undefined) samples.get(vmm)?.push(vmmRssMib(guest.child.pid, memoryMib * MIB));
        guest.child.kill('SIGKILL');
        await guest.done;
      }
    }
    return Object.fromEntries([...samples].map(([vmm, v]) => [vmm, median(v)]));
  };
  return { small_mib: await measure(1, 128), large_mib: await measure(2, 512) };
}

export interface BlockResults { seq_read_mibs: PerVmm; seq_write_mibs: PerVmm; rand_read_iops: PerVmm }

function hostSequentialRead(path: string): number {
  const started = process.hrtime.bigint();
  spawnSync('dd', [`if=${path}`, 'of=/dev/null', 'bs=128K'], { stdio: 'ignore' });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return round(statSync(path).size / MIB / seconds);
}

function hostRandomReads(path: string, count: number): number {
  const fd = openSync(path, 'r');
  const buffer = Buffer.alloc(4096);
  const blocks = Math.floor(statSync(path).size / 4096);
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) readSync(fd, buffer, 0, 4096, Math.floor(Math.random() * blocks) * 4096);
  closeSync(fd);
  return Math.round(count / (Number(process.hrtime.bigint() - started) / 1e9));
}

/** A 256 MiB image of random bytes, read once so every run starts from the page cache. */
export function benchImage(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'tsvmm-bench-')), 'disk.img');
  writeFileSync(path, randomBytes(256 * MIB));
  readFileSync(path);
  return path;
}

export async function benchBlock(vmms: GuestVmm[], path: string): Promise<BlockResults> {
  const rate = (bytes: number) => (run: GuestRun): number | undefined =>
    (run.timedMs ? round(bytes / MIB / (run.timedMs / 1000)) : undefined);
  const seqRead = 1024 * MIB;
  const seqWrite = 256 * MIB;
  const random = 16384;
  return {
    seq_read_mibs: {
      ...await alternate(vmms, () => ({ cmdline: `test=blk mode=read bs=131072 qd=4 total=${seqRead}`, disk: { path } }), rate(seqRead)),
      host: hostSequentialRead(path),
    },
    seq_write_mibs: await alternate(vmms, () => ({ cmdline: `test=blk mode=write bs=131072 qd=4 total=${seqWrite}`, disk: { path } }), rate(seqWrite)),
    rand_read_iops: {
      ...await alternate(vmms, () => ({ cmdline: `test=blk mode=randread bs=4096 qd=16 total=${random * 4096}`, disk: { path } }),
        (run) => (run.timedMs ? Math.round(random / (run.timedMs / 1000)) : undefined)),
      host: hostRandomReads(path, random),
    },
  };
}

export interface NetResults { frames_per_s: PerVmm; mib_per_s: PerVmm; delivered_percent: PerVmm; sent_frames_per_s: PerVmm }

/** Two test guests of one VMM over a UDP tunnel: the receiver's rate, and how much of what was sent arrived. */
export async function benchNet(vmms: GuestVmm[]): Promise<NetResults> {
  const frames = NET_FRAMES;
  const size = 1514;
  const samples = new Map<GuestVmm, Array<[number, number, number]>>(vmms.map((vmm) => [vmm, []]));
  for (let i = 0; i < RUNS; i++) {
    for (const vmm of vmms) {
      const [a, b] = await freeUdpPorts(2) as [number, number];
      const receiver = startGuest({ vmm, cmdline: 'test=net-recv', net: { local: a, remote: b } });
      await receiver.seen('TG ready');
      const sender = await runGuest({ vmm, cmdline: `test=net-send frames=${frames} size=${size}`, net: { local: b, remote: a } });
      const received = await Promise.race([receiver.done, new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000))]);
      if (!received) receiver.child.kill('SIGKILL');
      const got = Number(received?.values.frames);
      if (received?.result === 'ok' && received.timedMs && sender.timedMs) {
        samples.get(vmm)?.push([got / (received.timedMs / 1000), (100 * got) / frames, frames / (sender.timedMs / 1000)]);
      }
    }
  }
  const pick = (index: number, scale = 1, digits = 0): PerVmm => Object.fromEntries([...samples]
    .filter(([, v]) => v.length > 0).map(([vmm, v]) => [vmm, round(median(v.map((s) => (s[index] as number) * scale)), digits)]));
  return {
    frames_per_s: pick(0),
    mib_per_s: pick(0, size / MIB, 1),
    delivered_percent: pick(1, 1, 1),
    sent_frames_per_s: pick(2),
  };
}

export const SERIAL_BYTES = Math.floor((64 * 1024) / WORK_DIVISOR);

export interface SerialResults { stdout_kib_s: PerVmm; socket_kib_s: PerVmm }

/** KiB/s the guest writes to COM1 (one exit per byte): to the VMM's stdout, and through tsvmm's socket console to a client. */
export async function benchSerial(vmms: GuestVmm[]): Promise<SerialResults> {
  const kibPerSecond = (run: GuestRun): number | undefined =>
    (run.timedMs === null ? undefined : round(SERIAL_BYTES / 1024 / (run.timedMs / 1000)));
  const stdout = await alternate(vmms, () => ({ cmdline: `test=serial bytes=${SERIAL_BYTES}` }), kibPerSecond);
  const socket: number[] = [];
  if (vmms.includes('tsvmm')) {
    for (let i = 0; i < RUNS; i++) {
      const ms = await serialThroughSocket();
      if (ms !== undefined) socket.push(round(SERIAL_BYTES / 1024 / (ms / 1000)));
    }
  }
  return { stdout_kib_s: stdout, socket_kib_s: socket.length > 0 ? { tsvmm: median(socket) } : {} };
}

/** Milliseconds from "TG start" to "TG end" as a socket console client receives them. */
async function serialThroughSocket(): Promise<number | undefined> {
  const path = join(mkdtempSync(join(tmpdir(), 'tsvmm-bench-serial-')), 'serial.sock');
  const child = spawn(process.execPath, [TSVMM, '--kernel', testGuest(), '--cmdline',
    testGuestCmdline(`test=serial bytes=${SERIAL_BYTES} wait=1`), '--memory', 'size=128M', '--serial', `socket=${path}`, '--console', 'off'], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('close', resolve));
  let text = '';
  let started: bigint | undefined;
  let elapsed: number | undefined;
  for (let attempt = 0; attempt < 200 && elapsed === undefined; attempt++) {
    const client = connect(path);
    const ok = await new Promise<boolean>((resolve) => {
      client.once('error', () => resolve(false));
      client.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
        if (text.includes('TG ready') && !text.includes('TG start')) client.write('g');
        if (started === undefined && text.includes('TG start')) started = process.hrtime.bigint();
        if (started !== undefined && text.includes('TG end')) {
          elapsed = Number(process.hrtime.bigint() - started) / 1e6;
          client.destroy();
          resolve(true);
        }
      });
      client.once('close', () => resolve(elapsed !== undefined));
    });
    if (!ok) await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await exited;
  return elapsed;
}

// Runs one shell command inside the L1 VM (tests/l1/README.md): QEMU's TCG
// emulates an AMD CPU with SVM and nested paging, Debian's kernel loads
// kvm_amd, and the command runs as root in the host's own file tree (read-only
// over 9p, with a tmpfs on top), in the same directory and environment.
//
// The command's output is streamed back as L1 writes it. L1's console log is
// kept for every run. An L1 that crashes, stalls or dies before the command
// ends is an L1 failure (`l1Failure` says why); it is never taken for the
// command's own result.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildDistroImage, DISTRO_DIR_ENV, DISTRO_ERROR_ENV, DISTRO_SKIP_ENV, distroTestSkip } from '../../guest/distro.js';
import { buildGuestKit } from '../../guest/kit.js';
import { buildTestGuest } from '../../guest/test-guest.js';
import { buildVsockTool } from '../../guest/vsock-tool.js';
import { buildL1Image, type L1Image } from './image.js';

export interface L1Options {
  /** Where the command runs; default the current directory. */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Called with the command's output as it arrives. */
  onOutput?: (chunk: Buffer) => void;
  /** Ends L1 after this long in all. */
  timeoutMs?: number;
  /** Ends L1 when neither its console nor the command's output grew for this long. */
  stallMs?: number;
  cpus?: number;
  memoryMib?: number;
}

export interface L1Run {
  /** The command's exit status; null when L1 failed before the command ended. */
  status: number | null;
  /** Why L1 itself failed (crash, stall, timeout); null when it did not. */
  l1Failure: string | null;
  output: string;
  /** L1's console: its kernel log and /init's lines. */
  consoleLog: string;
  consoleLogPath: string;
  /** The folder shared with L1 (TSVMM_L1_RESULTS inside), where the command may leave files. */
  resultsDir: string;
  /** From QEMU's start to the first line of the command's output, and to L1's end. */
  bootMs: number | null;
  totalMs: number;
}

/** The CPU QEMU emulates for L1, with SVM and nested paging (tests/l1/README.md says why this one); TSVMM_L1_CPU overrides it. */
export const L1_CPU = process.env.TSVMM_L1_CPU ?? 'max,-la57';
/** QEMU's accelerator for L1; TSVMM_L1_ACCEL overrides it. */
const L1_ACCEL = process.env.TSVMM_L1_ACCEL ?? 'tcg,thread=multi';
/** Debian's kernel under TCG: fast and loud on failure; TSVMM_L1_APPEND adds parameters. */
const L1_CMDLINE = [
  'console=ttyS0', 'quiet', 'loglevel=4', 'panic=-1', 'oops=panic', 'softlockup_panic=1',
  'mitigations=off', 'kvm_amd.npt=1', 'kvm_amd.nested=1',
  ...(process.env.TSVMM_L1_APPEND ?? '').split(' ').filter((p) => p !== ''),
];

/** Lines of L1's console that mean its kernel is dying or stuck. */
const L1_DISTRESS = /(Kernel panic|BUG: |Oops|soft lockup|hard LOCKUP|stack guard page|general protection fault|rcu_\w+ (self-)?detected stall|blocked for more than \d+ seconds|watchdog: )/;

/** Variables that describe the host's shell session rather than the command's environment. */
const SKIPPED_ENV = new Set(['PWD', 'OLDPWD', 'SHLVL', '_', 'TERM', 'TERMCAP', 'SSH_AUTH_SOCK', 'DISPLAY']);

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The command's environment, plus TSVMM_IN_L1=1 and TSVMM_L1_RESULTS, a folder the host sees too. */
function envScript(env: NodeJS.ProcessEnv, results: string): string {
  const lines = Object.entries(env)
    .filter(([name, value]) => value !== undefined && !SKIPPED_ENV.has(name) && /^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    .map(([name, value]) => `export ${name}=${shellQuote(value as string)}`);
  return `${lines.join('\n')}\nexport TSVMM_IN_L1=1\nexport TSVMM_L1_RESULTS=${shellQuote(results)}\n`;
}

function qemuArgs(image: L1Image, results: string, consoleLog: string, options: L1Options): string[] {
  return [
    '-accel', L1_ACCEL, '-M', 'q35', '-cpu', L1_CPU,
    '-smp', String(options.cpus ?? 2), '-m', `${options.memoryMib ?? 8192}M`,
    '-nodefaults', '-no-reboot', '-display', 'none',
    // The human monitor, for the CPUs' registers when L1 stalls.
    '-monitor', `unix:${join(results, 'monitor.sock')},server=on,wait=off`,
    '-chardev', `file,id=console,path=${consoleLog}`, '-serial', 'chardev:console',
    '-kernel', image.kernel, '-initrd', image.initramfs,
    '-append', `${L1_CMDLINE.join(' ')} l1.results=${results}`,
    '-drive', `file=${image.scratchDisk},format=raw,if=virtio,snapshot=on,cache=unsafe`,
    '-virtfs', 'local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap',
    '-virtfs', `local,path=${results},mount_tag=results,security_model=none`,
  ];
}

/** What QEMU's monitor says about every L1 CPU (where each one is stuck), or why it could not say. */
async function cpuRegisters(results: string): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const socket = connect(join(results, 'monitor.sock'), () => socket.write('info registers -a\nquit\n'));
    socket.on('data', (chunk: Buffer) => { text += chunk.toString(); });
    socket.on('error', (error) => resolve(`the monitor did not answer: ${error.message}`));
    socket.on('close', () => resolve(text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')));
    setTimeout(() => socket.destroy(), 5000).unref();
  });
}

/** Reads what a file gained since `offset`; a file that does not exist yet has gained nothing. */
function readFrom(path: string, offset: number): Buffer {
  if (!existsSync(path)) return Buffer.alloc(0);
  const size = statSync(path).size;
  if (size <= offset) return Buffer.alloc(0);
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.alloc(size - offset);
    const read = readSync(fd, chunk, 0, chunk.length, offset);
    return chunk.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

/**
 * Builds L1's image and the guests the tests boot in it, here and natively
 * (inside L1 a kernel build would take hours; the Debian image only when a
 * test that boots it will run). Returns why no L1 can be had on this host, or
 * null when it can.
 */
export function prepareL1(options: { distro: boolean }): string | null {
  try {
    buildL1Image();
  } catch (error) {
    return (error as Error).message;
  }
  buildGuestKit();
  buildTestGuest();
  buildVsockTool();
  if (options.distro) prepareDistroImage();
  return null;
}

/** Builds the Debian image for the tests inside L1, or hands them why it cannot be had (they skip) or failed to build (they fail). */
function prepareDistroImage(): void {
  const skip = distroTestSkip();
  if (skip) {
    process.env[DISTRO_SKIP_ENV] = skip;
    return;
  }
  try {
    process.env[DISTRO_DIR_ENV] = dirname(buildDistroImage().rootfs);
  } catch (error) {
    process.env[DISTRO_ERROR_ENV] = (error as Error).message;
  }
}

/**
 * L1 with a third CPU and the command kept on CPUs 1-2, so no KVM_RUN shares
 * CPU 0 with L1's device interrupts: unpinned, L1 crashed within minutes of
 * Debian guests starting and a few times per test run without them; pinned, it
 * stayed up (README.md here). TSVMM_L1_PIN=0 runs L1 with 2 CPUs, unpinned.
 */
export function l1Pinning(): { cpus: number; prefix: string } {
  return process.env.TSVMM_L1_PIN === '0' ? { cpus: 2, prefix: '' } : { cpus: 3, prefix: 'taskset -c 1,2 ' };
}

/** Boots L1, runs `command` (a shell command line) inside it, and powers L1 off. */
export async function runInL1(command: string, options: L1Options = {}): Promise<L1Run> {
  const image = buildL1Image();
  const results = mkdtempSync(join(tmpdir(), 'tsvmm-l1-'));
  const consoleLogPath = join(results, 'console.log');
  const outputPath = join(results, 'output');
  writeFileSync(join(results, 'env.sh'), envScript(options.env ?? process.env, results));
  writeFileSync(join(results, 'command.sh'), `cd ${shellQuote(options.cwd ?? process.cwd())} || exit 125\n${command}\n`);

  const started = Date.now();
  const qemu = spawn('qemu-system-x86_64', qemuArgs(image, results, consoleLogPath, options), { stdio: ['ignore', 'ignore', 'pipe'] });
  let qemuStderr = '';
  qemu.stderr.on('data', (chunk: Buffer) => { qemuStderr += chunk.toString(); });
  const exited = new Promise<void>((resolve) => qemu.on('close', () => resolve()));
  // A runner that is itself ended takes L1 with it.
  const killQemu = (): void => { qemu.kill('SIGKILL'); };
  // 'exit' does not come when a signal ends the runner: those end QEMU too, then the runner.
  const killedBy = (signal: NodeJS.Signals) => (): void => {
    killQemu();
    process.kill(process.pid, signal);
  };
  const onTerm = killedBy('SIGTERM');
  const onInt = killedBy('SIGINT');
  process.once('exit', killQemu);
  process.once('SIGTERM', onTerm);
  process.once('SIGINT', onInt);
  const timeoutMs = options.timeoutMs ?? 60 * 60_000;
  const stallMs = options.stallMs ?? 10 * 60_000;

  let outputOffset = 0;
  let consoleOffset = 0;
  let consoleText = '';
  let lastGrowth = Date.now();
  let bootMs: number | null = null;
  let failure: string | null = null;
  const poll = (): void => {
    const output = readFrom(outputPath, outputOffset);
    if (output.length > 0) {
      bootMs ??= Date.now() - started;
      outputOffset += output.length;
      lastGrowth = Date.now();
      options.onOutput?.(output);
    }
    const consoleChunk = readFrom(consoleLogPath, consoleOffset);
    if (consoleChunk.length > 0) {
      consoleOffset += consoleChunk.length;
      consoleText += consoleChunk.toString();
      lastGrowth = Date.now();
      const distress = L1_DISTRESS.exec(consoleText);
      if (distress && !failure) failure = `L1's kernel reported "${distress[1]}"`;
    }
    const now = Date.now();
    if (!failure && now - started > timeoutMs) failure = `L1 ran longer than ${timeoutMs / 1000} s`;
    if (!failure && now - lastGrowth > stallMs) failure = `L1 printed nothing for ${Math.round((now - lastGrowth) / 1000)} s`;
  };
  let killing = false;
  const timer = setInterval(() => {
    poll();
    if (!failure || killing) return;
    // A dying L1 gets a moment to finish its console log, then is ended;
    // its CPUs' registers go into the results folder first.
    killing = true;
    void cpuRegisters(results).then((registers) => {
      writeFileSync(join(results, 'registers.txt'), registers);
      setTimeout(() => qemu.kill('SIGKILL'), 5000).unref();
    });
  }, 250);
  await exited;
  process.removeListener('exit', killQemu);
  process.removeListener('SIGTERM', onTerm);
  process.removeListener('SIGINT', onInt);
  clearInterval(timer);
  poll();

  const statusPath = join(results, 'status');
  const status = existsSync(statusPath) ? Number.parseInt(readFileSync(statusPath, 'utf8'), 10) : null;
  if (status === null && !failure) {
    failure = qemu.exitCode === 0
      ? 'L1 powered off before the command ended'
      : `QEMU ended with ${qemu.exitCode ?? qemu.signalCode}: ${qemuStderr.trim().slice(-500)}`;
  }
  return {
    status: failure && status === null ? null : status,
    l1Failure: status === null ? failure : null,
    output: existsSync(outputPath) ? readFileSync(outputPath, 'utf8') : '',
    consoleLog: consoleText,
    consoleLogPath,
    resultsDir: results,
    bootMs,
    totalMs: Date.now() - started,
  };
}

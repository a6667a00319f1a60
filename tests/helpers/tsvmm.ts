// Runs the real `tsvmm` binary for integration tests and collects what it
// printed, how it exited and when the guest reached its markers.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { guestKindOf, hostKvm } from './host-kvm.js';
import { buildDistroImage, type DistroImage } from '../../guest/distro.js';
import { buildGuestKit, type GuestKit } from '../../guest/kit.js';
import { scaled } from './wait.js';

export const TSVMM = fileURLToPath(new URL('../../bundle/tsvmm.js', import.meta.url));
export const TSVMM_REMOTE = fileURLToPath(new URL('../../bundle/tsvmm-remote.js', import.meta.url));

/**
 * The command and arguments that run a node `script` as a user runs it. tap puts its loader into
 * NODE_OPTIONS of every process a test spawns (whatever env the test passes); in tsvmm that loader
 * follows each worker and keeps files open after the worker ends. `env -u` drops it, then execs
 * node, so the child's pid is node's. Outside tap (the bench) node is run directly.
 */
export function nodeCommand(script: string, args: string[]): [string, string[]] {
  if (process.env.NODE_OPTIONS === undefined) return [process.execPath, [script, ...args]];
  return ['env', ['-u', 'NODE_OPTIONS', process.execPath, script, ...args]];
}
export const BOOTED_MARKER = 'TSVMM_GUEST_BOOTED';
/** The kit's kernel carries its own workarounds (CONFIG_CMDLINE); these are the user's. */
export const BASE_CMDLINE = 'console=ttyS0 reboot=k panic=-1';

/**
 * The tests read the guest's serial port on tsvmm's stdout: a command line
 * that boots gets `--serial tty --console off` unless it says otherwise
 * (Cloud Hypervisor's defaults, which tsvmm follows, are the other way round).
 */
export function withSerialOnStdout(args: string[]): string[] {
  if (!args.includes('--kernel')) return args;
  return [...args, ...(args.includes('--serial') ? [] : ['--serial', 'tty']), ...(args.includes('--console') ? [] : ['--console', 'off'])];
}

/** The kit's /init parameter that carries `commands` (one per line) in base64, so any characters pass. */
export function run64(commands: string[]): string {
  return `tsvmm.run64=${Buffer.from(commands.join('\n')).toString('base64')}`;
}

export interface TsvmmResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from spawn to each marker, when seen. */
  markers: Map<string, number>;
}

export interface RunOptions {
  /** Kills tsvmm after this long on hardware KVM (scaled to the platform). */
  timeoutMs?: number;
  /** Written to tsvmm's stdin the first time the text appears on its stdout. */
  answers?: Array<{ when: string; send: string }>;
  watch?: string[];
  /** Called once for each watched marker when it first appears. */
  onMarker?: (marker: string) => void;
  /**
   * Stops tsvmm (SIGTERM) once a whole line holding this text has arrived: for
   * guests that cannot power off (acpi=off). The serial port sends a byte at a
   * time, so the text can come before the rest of its line.
   */
  stopAt?: string;
  /** Hands over the child process, to signal it. */
  onSpawn?: (child: ChildProcess) => void;
  /** Extra environment variables for tsvmm. */
  env?: Record<string, string>;
}

let logCount = 0;

/**
 * Inside L1, a new path in a folder the host keeps (TSVMM_L1_RESULTS/vm-logs/),
 * so a test that times out still leaves its guests' consoles behind; else undefined.
 */
export function keptLogPath(): string | undefined {
  const results = process.env.TSVMM_L1_RESULTS;
  if (!results) return undefined;
  const dir = join(results, 'vm-logs');
  mkdirSync(dir, { recursive: true });
  return join(dir, `${basename(process.argv[1] ?? 'test', '.js')}-${process.pid}-${++logCount}.log`);
}

/** Inside L1 each tsvmm's output also goes to a kept log (keptLogPath). */
function keepOutput(child: ChildProcess): void {
  const path = keptLogPath();
  if (!path) return;
  const file = createWriteStream(path);
  child.stdout?.on('data', (chunk: Buffer) => file.write(chunk));
  child.stderr?.on('data', (chunk: Buffer) => file.write(chunk));
  child.on('close', () => file.end());
}

export function runTsvmm(args: string[], options: RunOptions = {}): Promise<TsvmmResult> {
  const started = Date.now();
  const child = spawn(...nodeCommand(TSVMM, withSerialOnStdout(args)), {
    stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...options.env },
  });
  keepOutput(child);
  options.onSpawn?.(child);
  const result: TsvmmResult = { code: null, signal: null, stdout: '', stderr: '', markers: new Map() };
  const watch = [BOOTED_MARKER, ...(options.watch ?? [])];
  const answers = (options.answers ?? []).map((answer) => ({ ...answer, sent: false }));
  let stopped = false;
  child.stdout.on('data', (chunk: Buffer) => {
    result.stdout += chunk.toString();
    for (const marker of watch) {
      if (!result.markers.has(marker) && result.stdout.includes(marker)) {
        result.markers.set(marker, Date.now() - started);
        options.onMarker?.(marker);
      }
    }
    if (options.stopAt && !stopped && lineComplete(result.stdout, options.stopAt)) {
      stopped = true; // once: a second SIGTERM would find tsvmm's handler gone
      child.kill('SIGTERM');
    }
    for (const answer of answers) {
      if (answer.sent || !result.stdout.includes(answer.when)) continue;
      answer.sent = true;
      child.stdin.write(answer.send);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => { result.stderr += chunk.toString(); });
  const timer = setTimeout(() => child.kill('SIGKILL'), scaled(options.timeoutMs ?? 600_000));
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      result.code = code;
      result.signal = signal;
      resolve(result);
    });
  });
}

function lineComplete(output: string, text: string): boolean {
  const at = output.indexOf(text);
  return at >= 0 && output.includes('\n', at + text.length);
}

/**
 * Skips the whole test file, saying why, when this host has no KVM that can
 * run its guests; `testFile` is the file's import.meta.url, whose name says
 * which guest it boots (guestKindOf).
 */
export function skipWithoutKvm(t: Test, testFile: string): boolean {
  const kvm = hostKvm(guestKindOf(fileURLToPath(testFile)));
  if (kvm.usable) return false;
  t.plan(0, `skipped: ${kvm.why}`);
  return true;
}

let kit: GuestKit | undefined;
let distro: DistroImage | undefined;

/** The kit's kernel and initramfs, built on first use (minutes) and cached. */
export function guestKit(): GuestKit {
  kit ??= buildGuestKit();
  return kit;
}

/** Debian's kernel, initrd and root image (guest/distro.ts), built on first use (minutes, as root) and cached. */
export function distroImage(): DistroImage {
  distro ??= buildDistroImage();
  return distro;
}

/** A writable copy of the distribution's root image for one test (sparse: about 850 MB of data). */
export function distroRootCopy(dir: string): string {
  const copy = join(dir, 'rootfs.ext4');
  execFileSync('cp', ['--sparse=always', distroImage().rootfs, copy]);
  return copy;
}

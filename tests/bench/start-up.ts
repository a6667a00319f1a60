// Start-up with no VM, beside bare Node doing the least it can: `tsvmm
// --version` against `node -e 0` (CPU time and peak RSS, which the child
// reports itself at exit), and exec to the API socket accepting against a
// bare node:http server on a UNIX socket. Alternating runs, medians.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TSVMM } from '../helpers/tsvmm.js';
import { median, WORK_DIVISOR } from './stats.js';

export interface Versus {
  tsvmm: number;
  baseline: number;
}

export interface HostStartupResult {
  /** `tsvmm --version` against `node -e 0`, CPU milliseconds (user + system). */
  version_cpu_ms: Versus;
  /** The same two, peak RSS in MiB. */
  version_rss_mib: Versus;
  /** Exec to the API socket accepting, against a bare node:http server (ms). */
  api_socket_ms: Versus;
}

/** Inside L1 (a tenth of the work elsewhere) still 9: a Node start there varies by a tenth from run to run. */
const RUNS = Math.max(9, 21 / WORK_DIVISOR);

/**
 * A module preloaded into the child that writes its own resource usage to fd 3
 * as it exits. The peak RSS is the address space's high-water mark (VmHWM), not
 * getrusage's maxrss: Linux carries maxrss over an exec, so a child forked from
 * this bench (hundreds of MiB once a disk image was read) reported the bench's.
 * CommonJS, preloaded with --require: an --import preload puts the child's main
 * module through the ESM loader, which for a CommonJS main (tsvmm.js) costs
 * 5 MiB and 8 ms that a user's `tsvmm --version` does not pay.
 */
function usageReporter(dir: string): string {
  const path = join(dir, 'report-usage.cjs');
  writeFileSync(path, "const { readFileSync, writeSync } = require('node:fs');\n"
    + "process.on('exit', () => {\n"
    + "  const u = process.resourceUsage();\n"
    + "  const hwm = Number(/^VmHWM:\\s+(\\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);\n"
    + "  writeSync(3, JSON.stringify({ cpu: u.userCPUTime + u.systemCPUTime, rss: hwm }));\n"
    + "});\n");
  return path;
}

function usageOf(args: string[], reporter: string): Promise<{ cpuMs: number; rssMib: number }> {
  const child = spawn(process.execPath, [`--require=${reporter}`, ...args], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
  let text = '';
  child.stdio[3]?.on('data', (chunk: Buffer) => { text += chunk.toString(); });
  return new Promise((resolve, reject) => child.on('close', () => {
    try {
      const usage = JSON.parse(text) as { cpu: number; rss: number };
      resolve({ cpuMs: usage.cpu / 1000, rssMib: usage.rss / 1024 });
    } catch {
      reject(new Error(`no resource usage from node ${args.join(' ')}`));
    }
  }));
}

async function accepting(socketPath: string): Promise<boolean> {
  if (!existsSync(socketPath)) return false;
  return new Promise((resolve) => {
    const socket = connect(socketPath, () => { socket.destroy(); resolve(true); });
    socket.on('error', () => resolve(false));
  });
}

/** Milliseconds from spawn until a connection to `socketPath` succeeds. */
async function timeToAccept(args: string[], socketPath: string): Promise<number> {
  rmSync(socketPath, { force: true });
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, args, { stdio: 'ignore' });
  while (!await accepting(socketPath)) {
    if (child.exitCode !== null) throw new Error(`node ${args.join(' ')} exited before accepting`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  return ms;
}

export async function benchHostStartup(): Promise<HostStartupResult> {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-bench-start-'));
  const reporter = usageReporter(dir);
  const bare = join(dir, 'bare-http.mjs');
  writeFileSync(bare, "import { createServer } from 'node:http';\ncreateServer((q, r) => r.end()).listen(process.argv[2]);\n");
  const version = { tsvmm: [] as Array<{ cpuMs: number; rssMib: number }>, node: [] as Array<{ cpuMs: number; rssMib: number }> };
  const socket = { tsvmm: [] as number[], bare: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    version.node.push(await usageOf(['-e', '0'], reporter));
    version.tsvmm.push(await usageOf([TSVMM, '--version'], reporter));
    socket.bare.push(await timeToAccept([bare, join(dir, 'bare.sock')], join(dir, 'bare.sock')));
    socket.tsvmm.push(await timeToAccept([TSVMM, '--api-socket', `path=${join(dir, 'api.sock')}`], join(dir, 'api.sock')));
  }
  const round = (x: number): number => Math.round(x * 10) / 10;
  return {
    version_cpu_ms: { tsvmm: round(median(version.tsvmm.map((u) => u.cpuMs))), baseline: round(median(version.node.map((u) => u.cpuMs))) },
    version_rss_mib: { tsvmm: round(median(version.tsvmm.map((u) => u.rssMib))), baseline: round(median(version.node.map((u) => u.rssMib))) },
    api_socket_ms: { tsvmm: round(median(socket.tsvmm)), baseline: round(median(socket.bare)) },
  };
}

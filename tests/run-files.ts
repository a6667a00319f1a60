// Runs compiled tap test files as plain `node FILE` processes, a few at a
// time, and prints each file's TAP output in one piece when it ends, then a
// result line per file that the caller parses (FILE_RESULT + JSON).
//
// tests/run.ts uses it inside the L1 VM, where starting tap's own runner and
// its per-file loaders costs minutes under emulation.
import { spawn } from 'node:child_process';
import { relative } from 'node:path';

export const FILE_RESULT = '# tsvmm-test-file ';

export interface FileCounts {
  total: number;
  pass: number;
  fail: number;
  skip: number;
  todo: number;
}

export interface FileResult extends FileCounts {
  file: string;
  ms: number;
  /** The process's exit code or signal. */
  exit: string;
  /** 1, or 2 for the one run again after it failed (--rerun-failed). */
  attempt: number;
}

/** The counts of the last `# { total: N, pass: N, ... }` line of a file's TAP, or null without one. */
export function parseCounts(tap: string): FileCounts | null {
  const lines = [...tap.matchAll(/^# \{ (total: \d+[^}]*)\}$/gm)];
  const last = lines.at(-1)?.[1];
  if (last === undefined) return null;
  const field = (name: string): number => Number(new RegExp(`${name}: (\\d+)`).exec(last)?.[1] ?? 0);
  return { total: field('total'), pass: field('pass'), fail: field('fail'), skip: field('skip'), todo: field('todo') };
}

function runFile(file: string, timeoutMs: number, attempt: number): Promise<FileResult> {
  const started = Date.now();
  // Its own process group: whatever the file started (tsvmm, QEMU) goes with it when it ends,
  // so a file that timed out leaves no VM holding a TAP, a port or an address for the next.
  const child = spawn(process.execPath, [file], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    // tap's own default per file is 30 s, meant for a runner that sets its own.
    env: { ...process.env, TAP_TIMEOUT: String(Math.ceil(timeoutMs / 1000)) },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  // tap ends a file at TAP_TIMEOUT; this is the backstop for a file that hangs outside tap.
  const killGroup = (): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // ESRCH: nothing of the group is left.
    }
  };
  const timer = setTimeout(killGroup, timeoutMs + 60_000);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      killGroup();
      const ms = Date.now() - started;
      const name = relative(process.cwd(), file);
      const counts = parseCounts(output);
      // A file that dies before its summary, or exits non-zero with all passing, counts as one failure.
      const failed = counts === null || (code !== 0 && counts.fail === 0);
      const result: FileResult = {
        file: name, ms, exit: signal ?? String(code), attempt,
        ...(counts ?? { total: 0, pass: 0, fail: 0, skip: 0, todo: 0 }),
      };
      if (failed) {
        result.total += 1;
        result.fail += 1;
      }
      process.stdout.write(`# Subtest: ${name}${attempt > 1 ? ' (run again after it failed)' : ''}\n${output.replace(/^/gm, '    ').trimEnd()}\n`);
      process.stdout.write(`${failed || result.fail > 0 ? 'not ok' : 'ok'} - ${name} # time=${ms}ms exit=${result.exit}\n`);
      process.stdout.write(`${FILE_RESULT}${JSON.stringify(result)}\n`);
      resolve(result);
    });
  });
}

/** How often a line says which files are still running: the caller's sign that all is alive. */
const HEARTBEAT_MS = 60_000;

/**
 * Runs `files`, `jobs` at a time, then with `rerunFailed` each failed file once more, alone; resolves with every result.
 * A file's timeout is `timeoutMs`, or its own in `fileTimeoutsMs`.
 */
export async function runFiles(files: string[], jobs: number, timeoutMs: number, rerunFailed = false, fileTimeoutsMs = new Map<string, number>()): Promise<FileResult[]> {
  const timeoutOf = (file: string): number => fileTimeoutsMs.get(file) ?? timeoutMs;
  const queue = [...files];
  const results: FileResult[] = [];
  const running = new Map<string, number>();
  const heartbeat = setInterval(() => {
    const now = Date.now();
    const list = [...running].map(([file, started]) => `${relative(process.cwd(), file)} (${Math.round((now - started) / 1000)} s)`);
    process.stdout.write(`# still running: ${list.join(', ')}\n`);
  }, HEARTBEAT_MS);
  const worker = async (): Promise<void> => {
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      running.set(file, Date.now());
      results.push(await runFile(file, timeoutOf(file), 1));
      running.delete(file);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, files.length) }, worker));
  const failed = rerunFailed ? results.filter((r) => r.fail > 0).map((r) => files.find((f) => relative(process.cwd(), f) === r.file) ?? r.file) : [];
  for (const file of failed) {
    running.set(file, Date.now());
    results.push(await runFile(file, timeoutOf(file), 2));
    running.delete(file);
  }
  clearInterval(heartbeat);
  return results;
}

// `node dist/tests/run-files.js [--jobs N] [--timeout-ms N] [--file-timeout-ms FILE=N]... [--rerun-failed] FILE...`
const isMain = process.argv[1]?.endsWith('run-files.js');
if (isMain) {
  const args = process.argv.slice(2);
  let jobs = 2;
  let timeoutMs = 900_000;
  let rerunFailed = false;
  const files: string[] = [];
  const fileTimeoutsMs = new Map<string, number>();
  while (args.length > 0) {
    const arg = args.shift() as string;
    if (arg === '--jobs') jobs = Number(args.shift());
    else if (arg === '--timeout-ms') timeoutMs = Number(args.shift());
    else if (arg === '--rerun-failed') rerunFailed = true;
    else if (arg === '--file-timeout-ms') {
      const [file, ms] = (args.shift() ?? '').split('=');
      fileTimeoutsMs.set(file ?? '', Number(ms));
    }
    else files.push(arg);
  }
  const results = await runFiles(files, jobs, timeoutMs, rerunFailed, fileTimeoutsMs);
  const last = new Map(results.map((r) => [r.file, r]));
  process.exit([...last.values()].some((r) => r.fail > 0) ? 1 : 0);
}

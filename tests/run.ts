// `npm test`: the unit tests run on this host with tap. The integration tests
// boot VMs, so they need KVM: each file whose guests this host's /dev/kvm can
// run (helpers/host-kvm.ts) runs here with tap as well; the others run inside
// the L1 VM (tests/l1/README.md), a nested KVM under QEMU's TCG. Only where
// neither can be had are they skipped, and the last lines say so loudly.
//
// The last line is the plain summary CI reads: "tests: N passed, N failed, N skipped".
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { guestKindOf, hostKvm } from './helpers/host-kvm.js';
import { l1Pinning, prepareL1, runInL1 } from './l1/vm.js';
import { distroTestWanted } from '../guest/distro.js';
import { FILE_RESULT, parseCounts, type FileCounts, type FileResult } from './run-files.js';

const require = createRequire(import.meta.url);
const tapBin = join(dirname(require.resolve('tap/package.json')), 'dist/esm/run.mjs');
const testsDir = dirname(fileURLToPath(import.meta.url));
const root = join(testsDir, '../..');
/**
 * How long one test file may take inside L1, where everything runs under
 * emulation: the longest take 2-4 minutes (the two-VM example, vsock). A
 * guest that stops (L1's fault) holds its file this long, so it is no longer
 * than it needs to be.
 */
const L1_FILE_TIMEOUT_MS = 8 * 60_000;
/**
 * The two Debian files (TSVMM_TEST_DISTRO=0 leaves them out) boot Debian two
 * times each, 2-5 minutes a boot in L1 with another guest running: they get
 * their own timeout and start first, each on one of L1's two job slots.
 */
const L1_DISTRO_FILE_TIMEOUT_MS = 20 * 60_000;
const isDistroFile = (file: string): boolean => /distro-/.test(file);
/**
 * All L1 boots together may take this long: `npm test` must end within 45
 * minutes, the host's files (about 3), the Debian image's build (3.5 when not
 * cached) and L1's retries included. A whole run took 29 minutes of L1 on 2026-12-05.
 */
const L1_TOTAL_MS = 38 * 60_000;
/** A retry needs at least this much of it left. */
const L1_RETRY_MIN_MS = 5 * 60_000;
/**
 * L1 boots per run: L1's own kernel still crashes under TCG (a stack-guard
 * BUG or a soft lockup; on 2026-12-03 about once per 5-10 minutes of L1, twice
 * in one run's 10 minutes), and each boot only runs the files the ones before
 * it left, so a boot is short; L1_TOTAL_MS bounds them all.
 */
const L1_MAX_BOOTS = 5;
/** How many files run at once inside L1 (two CPUs for the tests, see l1Pinning). */
const L1_JOBS = 2;
const L1_PIN = l1Pinning();
/** Deadlines inside the tests are stretched this much in L1 (tests/helpers/wait.ts). */
const L1_TIME_SCALE = 10;

const zero = (): FileCounts => ({ total: 0, pass: 0, fail: 0, skip: 0, todo: 0 });
function add(sum: FileCounts, more: FileCounts): void {
  sum.total += more.total; sum.pass += more.pass; sum.fail += more.fail; sum.skip += more.skip; sum.todo += more.todo;
}

function testFiles(folder: string): string[] {
  const dir = join(testsDir, folder);
  return readdirSync(dir).filter((f) => f.endsWith('.test.js')).sort().map((f) => relative(root, join(dir, f)));
}

/** Runs tap over `files` on this host, passing its output through; resolves with its counts. */
function runTap(files: string[]): Promise<{ counts: FileCounts; code: number }> {
  // A terminal gets tap's compact progress; a log (CI) gets plain TAP, without cursor codes.
  const reporter = process.stdout.isTTY ? 'terse' : 'tap';
  const child = spawn(process.execPath, [tapBin, `--reporter=${reporter}`, ...files], { cwd: root, stdio: ['inherit', 'pipe', 'inherit'] });
  let tail = '';
  child.stdout.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk);
    tail = (tail + chunk.toString()).slice(-4096);
  });
  return new Promise((resolve) => child.on('close', (code) => {
    const counts = parseCounts(tail.replace(/^\s+/gm, ''));
    resolve({ counts: counts ?? { ...zero(), total: 1, fail: 1 }, code: counts === null ? 1 : code ?? 1 });
  }));
}

/**
 * A file is settled once it passed, or failed twice: a file that failed once in
 * an L1 boot that died before the end-of-run retry gets that retry in the next boot.
 */
function settled(results: FileResult[], file: string): boolean {
  const runs = results.filter((r) => r.file === file);
  return runs.some((r) => r.fail === 0) || runs.length >= 2;
}

interface L1Outcome {
  results: FileResult[];
  boots: number;
  failures: string[];
}

/** Runs `files` inside L1; an L1 that fails is booted again (up to L1_MAX_BOOTS in all) for the files it did not finish. */
async function runInsideL1(files: string[]): Promise<L1Outcome> {
  const outcome: L1Outcome = { results: [], boots: 0, failures: [] };
  let pending = files;
  const deadline = Date.now() + L1_TOTAL_MS;
  for (let attempt = 1; attempt <= L1_MAX_BOOTS && pending.length > 0 && deadline - Date.now() > L1_RETRY_MIN_MS; attempt++) {
    outcome.boots++;
    let buffered = '';
    const ordered = [...pending.filter(isDistroFile), ...pending.filter((file) => !isDistroFile(file))];
    const distroTimeouts = ordered.filter(isDistroFile).map((file) => `--file-timeout-ms ${file}=${L1_DISTRO_FILE_TIMEOUT_MS} `).join('');
    const run = await runInL1(`exec ${L1_PIN.prefix}node dist/tests/run-files.js --jobs ${L1_JOBS} --timeout-ms ${L1_FILE_TIMEOUT_MS} ${distroTimeouts}--rerun-failed ${ordered.join(' ')}`, {
      cwd: root,
      timeoutMs: deadline - Date.now(),
      cpus: L1_PIN.cpus,
      // L1's own /dev/kvm is what its tests use, whatever this host's choice was.
      env: { ...process.env, TSVMM_TEST_HOST_KVM: '1', TSVMM_TEST_TIME_SCALE: String(L1_TIME_SCALE) },
      onOutput: (chunk) => {
        process.stdout.write(chunk);
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          if (!line.startsWith(FILE_RESULT)) continue;
          const result = JSON.parse(line.slice(FILE_RESULT.length)) as FileResult;
          // A file run again in a later boot is that file's next attempt, not its first.
          const earlier = outcome.results.filter((r) => r.file === result.file).length;
          outcome.results.push({ ...result, attempt: Math.max(result.attempt, earlier + 1) });
        }
      },
    });
    process.stdout.write(`# L1 boot ${attempt}: ${run.l1Failure ?? `command exited ${run.status}`}; first output after ${run.bootMs} ms, ${run.totalMs} ms in all; console log ${run.consoleLogPath}; each tsvmm's output in ${join(run.resultsDir, 'vm-logs')}\n`);
    if (run.l1Failure === null) break;
    outcome.failures.push(run.l1Failure);
    process.stdout.write(`# L1 failed: ${run.l1Failure}. Its CPUs' registers: ${join(run.resultsDir, 'registers.txt')}. The end of its console log:\n${run.consoleLog.split('\n').slice(-40).map((l) => `#   ${l}`).join('\n')}\n`);
    pending = pending.filter((file) => !settled(outcome.results, file));
  }
  const done = new Set(outcome.results.map((r) => r.file));
  for (const file of files.filter((f) => !done.has(f))) {
    outcome.results.push({ file, ms: 0, exit: 'L1 failed', attempt: 1, ...zero(), total: 1, fail: 1 });
  }
  return outcome;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(0)} s`;
}

async function main(): Promise<number> {
  const requested = process.argv.slice(2);
  const pick = (files: string[]): string[] => requested.length === 0 ? files : files.filter((f) => requested.some((r) => f.includes(r)));
  const hostFiles = pick(testFiles('unit'));
  const kvmFiles = pick(testFiles('integration'));
  const total = zero();
  const closing: string[] = [];

  // Files whose guests this host's KVM runs join the unit tests here; the rest need L1.
  const onHost: string[] = [];
  const needL1: string[] = [];
  let whyNotHere = '';
  for (const file of kvmFiles) {
    const kvm = hostKvm(guestKindOf(file));
    if (kvm.usable) {
      onHost.push(file);
    } else {
      needL1.push(file);
      whyNotHere = kvm.why;
    }
  }
  let code = 0;
  if (hostFiles.length + onHost.length > 0) {
    const host = await runTap([...hostFiles, ...onHost]);
    add(total, host.counts);
    code = host.code;
  }
  if (onHost.length > 0) closing.push(`# ${onHost.length} of the ${kvmFiles.length} test files that boot VMs ran on this host's /dev/kvm`);
  if (needL1.length === 0) return finish(total, closing, code);

  const why = prepareL1({ distro: distroTestWanted() && needL1.some(isDistroFile) });
  if (why !== null) {
    const skipped = await runTap(needL1);
    add(total, skipped.counts);
    closing.push(
      '#',
      `# !!! NO KVM: ${whyNotHere}, and the L1 VM cannot be had here:`,
      `# !!! ${why}`,
      `# !!! The ${needL1.length} test files that boot VMs there were SKIPPED: nothing of what they test was tested.`,
      '#',
    );
    return finish(total, closing, code || skipped.code);
  }

  const started = Date.now();
  const l1 = await runInsideL1(needL1);
  // A file that failed was run once more: its last run counts, and a pass then is named as flaky.
  const last = new Map(l1.results.map((r) => [r.file, r]));
  const flaky = [...last.values()].filter((r) => r.attempt > 1 && r.fail === 0).map((r) => r.file);
  const inL1 = zero();
  for (const result of last.values()) add(inL1, result);
  add(total, inL1);
  closing.push(
    `# ${whyNotHere}: ${needL1.length} test files ran inside the L1 VM (nested KVM under QEMU's TCG): ` +
      `${inL1.total} tests, ${inL1.pass} passed, ${inL1.fail} failed, ${inL1.skip} skipped, in ${seconds(Date.now() - started)}`,
    `# L1 boots: ${l1.boots}; L1 failures retried: ${l1.failures.length}${l1.failures.length > 0 ? ` (${l1.failures.join('; ')})` : ''}`,
    ...l1.results.map((r) => `#   ${r.file}${r.attempt > 1 ? ' (run again)' : ''}: ${r.pass}/${r.total} passed, ${r.skip} skipped, ${seconds(r.ms)}`),
  );
  if (flaky.length > 0) {
    closing.push(`# !!! FLAKY inside L1: ${flaky.join(', ')} failed, then passed when run again; the first failure is in the TAP above`);
  }
  if (inL1.skip > 0) closing.push(`# !!! ${inL1.skip} tests were skipped inside L1: see the TAP above for why`);
  return finish(total, closing, code || (inL1.fail > 0 ? 1 : 0));
}

function finish(total: FileCounts, closing: string[], code: number): number {
  process.stdout.write(`${closing.join('\n')}\n`);
  process.stdout.write(`tests: ${total.pass} passed, ${total.fail} failed, ${total.skip} skipped\n`);
  return total.fail > 0 ? 1 : code;
}

main().then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`npm test: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});

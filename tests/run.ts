// `npm test`: runs tap over the compiled tests and ends with one plain
// summary line ("tests: N passed, N failed, N skipped") that CI can read.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const tapBin = join(dirname(require.resolve('tap/package.json')), 'dist/esm/run.mjs');

// A terminal gets tap's compact progress; a log (CI) gets plain TAP, without cursor codes.
const reporter = process.stdout.isTTY ? 'terse' : 'tap';
const child = spawn(process.execPath, [tapBin, `--reporter=${reporter}`, ...process.argv.slice(2)], {
  stdio: ['inherit', 'pipe', 'inherit'],
});
let tail = '';
child.stdout.on('data', (chunk: Buffer) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString()).slice(-4096);
});
child.on('close', (code) => {
  const match = /# \{ total: (\d+)(?:, pass: (\d+))?(?:, fail: (\d+))?(?:, skip: (\d+))?/.exec(tail);
  if (match) {
    const [, , pass = '0', fail = '0', skip = '0'] = match;
    process.stdout.write(`tests: ${pass} passed, ${fail} failed, ${skip} skipped\n`);
  }
  process.exit(code ?? 1);
});

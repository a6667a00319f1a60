// Failures end tsvmm with a clear message and the documented exit status:
// a guest that KVM cannot run, and kernels that cannot be booted at all.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { buildTestBzImage } from '../helpers/bzimage.js';
import { buildTestElf, HALT_FOREVER, JUMP_INTO_MMIO_GAP } from '../helpers/elf.js';
import { nodeCommand, runTsvmm, skipWithoutKvm, TSVMM } from '../helpers/tsvmm.js';
import { waitUntil } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'tsvmm-failures-'));
const file = (name: string, data: Uint8Array | string): string => {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
};

t.test('bad kernels are refused before any VM is created', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['missing', join(dir, 'does-not-exist'), /cannot read kernel .*does-not-exist: ENOENT/],
    ['not a kernel', file('script', '#!/bin/sh\n'.repeat(100)), /neither an ELF vmlinux nor a bzImage/],
    ['ELF without PVH', file('plain.elf', buildTestElf({ segments: [{ address: 0x100000, code: Uint8Array.of(0xf4) }] })),
      /no PVH entry note/],
    ['32-bit bzImage', file('bzimage32', buildTestBzImage({ xloadflags: 0 })), /no 64-bit entry point/],
  ];
  for (const [name, kernel, message] of cases) {
    const result = await runTsvmm(['--kernel', kernel, '--memory', 'size=64M', '-v']);
    t.equal(result.code, 2, `${name}: exit status 2`);
    t.match(result.stderr, message, `${name}: says why`);
    t.notMatch(result.stderr, /creating VM/, `${name}: no VM was created`);
  }
});

t.test('bad flags exit 2 and name the problem', async (t) => {
  const result = await runTsvmm(['--kernel', 'k', '--cpus', 'boot=1,threads=2']);
  t.equal(result.code, 2);
  t.match(result.stderr, /--cpus: unknown key "threads"/);
});

t.test('--help and --version', async (t) => {
  const help = await runTsvmm(['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /Usage: tsvmm/);
  t.match(help.stdout, /Exit status:/);
  const version = await runTsvmm(['--version']);
  t.match(version.stdout, /^tsvmm \d+\.\d+\.\d+/);
});

t.test('a guest KVM cannot run ends with a readable report and status 1', async (t) => {
  if (skipWithoutKvm(t, import.meta.url)) return;
  const kernel = file('mmio-jump.elf', buildTestElf({
    segments: [{ address: 0x100000, code: JUMP_INTO_MMIO_GAP }], pvhEntry: 0x100000,
  }));
  const result = await runTsvmm(['--kernel', kernel, '--memory', 'size=64M', '--serial', 'null'], { timeoutMs: 60_000 });
  t.equal(result.code, 1);
  t.match(result.stderr, /vcpu0: KVM internal error: suberror 1 \(instruction emulation failed\)/);
  t.match(result.stderr, /rip: 0xd0000000/);
  t.match(result.stderr, /instruction bytes: 0xd0000000 is outside guest RAM/);
});

/** Whether some process holds an flock on `path`, as /proc/locks lists it (by device and inode). */
function flockHeld(path: string): boolean {
  const { dev, ino } = statSync(path);
  const major = (dev >> 8) & 0xfff;
  const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
  const id = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${ino}`;
  return readFileSync('/proc/locks', 'utf8').split('\n').some((line) => line.includes(' FLOCK ') && line.includes(` ${id} `));
}

t.test('a writable image is locked: a second tsvmm on it fails to start', async (t) => {
  if (skipWithoutKvm(t, import.meta.url)) return;
  const kernel = file('halt.elf', buildTestElf({ segments: [{ address: 0x100000, code: HALT_FOREVER }], pvhEntry: 0x100000 }));
  const disk = file('locked.img', new Uint8Array(2 ** 20));
  const args = ['--kernel', kernel, '--memory', 'size=64M', '--serial', 'null', '--disk', `path=${disk}`];
  const first = spawn(...nodeCommand(TSVMM, args), { stdio: 'ignore' });
  const firstExit = new Promise<number | null>((resolve) => first.once('exit', (code) => resolve(code)));
  await waitUntil(() => flockHeld(disk), 'the first tsvmm to lock the disk', 30_000);
  const second = await runTsvmm(args, { timeoutMs: 30_000 });
  t.equal(second.code, 2);
  t.match(second.stderr, /disk .*locked\.img is in use by another writer/);
  first.kill('SIGTERM');
  t.equal(await firstExit, 0, 'the first one was running all along, and stops cleanly');
});

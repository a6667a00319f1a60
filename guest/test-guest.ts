// Builds the CPL3 test guest (guest/test-guest/) with the machine's gcc into
// the cache: ~/.cache/tsvmm/test-guest/<hash>/test-guest.elf, where the hash
// covers the sources, the flags and the compiler's version. It takes about a
// second; `npm run test-guest` prints the path as JSON.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compilerVersion } from './c-program.js';
import { cacheRoot } from './cache.js';

const sourceDir = fileURLToPath(new URL('../../guest/test-guest/', import.meta.url));
const FLAGS = [
  '-O2', '-std=gnu11', '-Wall', '-Wextra', '-Werror', '-ffreestanding', '-fno-builtin', '-fno-stack-protector',
  '-fno-pic', '-no-pie', '-mno-red-zone', '-mgeneral-regs-only', '-nostdlib', '-static',
  '-Wl,--build-id=none', '-Wl,--no-warn-rwx-segments',
];

function sources(): string[] {
  return readdirSync(sourceDir).filter((name) => /\.(c|S|h|ld)$/.test(name)).sort();
}

function inputHash(): string {
  const hash = createHash('sha256');
  hash.update(compilerVersion()).update(FLAGS.join(' '));
  for (const name of sources()) hash.update(name).update(readFileSync(join(sourceDir, name)));
  return hash.digest('hex').slice(0, 16);
}

/** The test guest's ELF (PVH entry), built unless the cache has it; safe to run concurrently. */
export function buildTestGuest(): string {
  const dir = join(cacheRoot(), 'test-guest', inputHash());
  const elf = join(dir, 'test-guest.elf');
  if (existsSync(elf)) return elf;
  mkdirSync(dir, { recursive: true });
  const partial = `${elf}.${process.pid}`;
  const units = sources().filter((name) => /\.(c|S)$/.test(name)).map((name) => join(sourceDir, name));
  const result = spawnSync('gcc', [...FLAGS, '-T', join(sourceDir, 'link.ld'), '-o', partial, ...units], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`building the test guest failed:\n${result.stderr}`);
  renameSync(partial, elf);
  return elf;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    process.stdout.write(`${JSON.stringify({ elf: buildTestGuest() })}\n`);
  } catch (error) {
    process.stderr.write(`test-guest: ${(error as Error).message}\n`);
    process.exit(1);
  }
}

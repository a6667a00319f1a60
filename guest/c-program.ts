// One C source built with the machine's gcc into the cache, in
// ~/.cache/tsvmm/<name>/<hash>/<name>, where the hash covers the source, the
// flags and the compiler's version: the small programs the tests and the
// bench run (vsock-tool in the guest, world-switch and hand-off on the host).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { cacheRoot } from './cache.js';

/** gcc's version line, which every build's hash covers. */
export function compilerVersion(): string {
  const result = spawnSync('gcc', ['--version'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error('building the test programs needs gcc (Debian package gcc)');
  return result.stdout.split('\n')[0] ?? '';
}

/** The program's path, built unless the cache has it; safe to run concurrently. */
export function buildCProgram(name: string, source: string, flags: string[]): string {
  const hash = createHash('sha256').update(compilerVersion()).update(flags.join(' ')).update(readFileSync(source));
  const dir = join(cacheRoot(), name, hash.digest('hex').slice(0, 16));
  const program = join(dir, name);
  if (existsSync(program)) return program;
  mkdirSync(dir, { recursive: true });
  const partial = `${program}.${process.pid}`;
  const result = spawnSync('gcc', [...flags, '-o', partial, source], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`building ${name} failed:\n${result.stderr}`);
  renameSync(partial, program);
  return program;
}

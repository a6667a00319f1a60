// The cache the guest builders share, outside the repository:
// $TSVMM_CACHE_DIR, or ~/.cache/tsvmm. Each build lives in a folder named by
// a hash of its inputs, and is made under a lock so that concurrent test
// processes build it once.
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export function cacheRoot(): string {
  if (process.env.TSVMM_CACHE_DIR) return process.env.TSVMM_CACHE_DIR;
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(base, 'tsvmm');
}

/** A build lock left by a killed build: no build takes an hour. */
function lockIsStale(lock: string): boolean {
  try {
    return Date.now() - statSync(lock).mtimeMs > 60 * 60 * 1000;
  } catch {
    return false;
  }
}

/** A build's output files, named by what they are (GuestKit, DistroImage). */
export type BuildFiles<T> = { [K in keyof T]: string };

/** Whether every file of a build is there. */
export function filesPresent<T extends BuildFiles<T>>(files: T): boolean {
  return (Object.values(files) as string[]).every((file) => existsSync(file));
}

/**
 * Makes `dir` with `build` unless every file `filesIn(dir)` names is there,
 * and returns those files. `build` fills a work folder that replaces `dir`
 * only once it is whole; another process building the same folder is waited for.
 */
export function buildOnce<T extends BuildFiles<T>>(
  dir: string, filesIn: (dir: string) => T, build: (work: string) => void, say: (message: string) => void,
): T {
  const files = filesIn(dir);
  const complete = (): boolean => filesPresent(files);
  if (complete()) return files;
  mkdirSync(dirname(dir), { recursive: true });
  const lock = `${dir}.lock`;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (lockIsStale(lock)) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      say(`waiting for another build (${lock})`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5000);
      if (complete()) return files;
    }
  }
  try {
    if (complete()) return files;
    const work = `${dir}.work`;
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    build(work);
    rmSync(dir, { recursive: true, force: true });
    renameSync(work, dir);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return files;
}

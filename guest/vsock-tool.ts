// Builds guest/vsock-tool/vsock-tool.c, a static AF_VSOCK tool the tests put
// into the kit's initramfs (busybox has no vsock support), with the machine's
// gcc into ~/.cache/tsvmm/vsock-tool/<hash>/vsock-tool. About a second.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheRoot } from './cache.js';
import { S_IFREG } from './cpio.js';
import { kitInitramfs } from './kit.js';
import { compilerVersion } from './test-guest.js';

const source = fileURLToPath(new URL('../../guest/vsock-tool/vsock-tool.c', import.meta.url));
const FLAGS = ['-O2', '-std=gnu11', '-Wall', '-Wextra', '-Werror', '-static', '-s'];

/** The tool's path, built unless the cache has it; safe to run concurrently. */
export function buildVsockTool(): string {
  const hash = createHash('sha256').update(compilerVersion()).update(FLAGS.join(' ')).update(readFileSync(source));
  const dir = join(cacheRoot(), 'vsock-tool', hash.digest('hex').slice(0, 16));
  const tool = join(dir, 'vsock-tool');
  if (existsSync(tool)) return tool;
  mkdirSync(dir, { recursive: true });
  const partial = `${tool}.${process.pid}`;
  const result = spawnSync('gcc', [...FLAGS, '-o', partial, source], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`building vsock-tool failed:\n${result.stderr}`);
  renameSync(partial, tool);
  return tool;
}

/** Writes the kit's initramfs with the tool as /bin/vsock-tool to `path`, for the tests and the bench. */
export function writeKitInitramfsWithVsockTool(path: string): void {
  writeFileSync(path, kitInitramfs([{ path: 'bin/vsock-tool', mode: S_IFREG | 0o755, data: readFileSync(buildVsockTool()) }]));
}

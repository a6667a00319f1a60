// Builds guest/vsock-tool/vsock-tool.c, a static AF_VSOCK tool the tests put
// into the kit's initramfs (busybox has no vsock support), with the machine's
// gcc into ~/.cache/tsvmm/vsock-tool/<hash>/vsock-tool. About a second.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildCProgram } from './c-program.js';
import { S_IFREG } from './cpio.js';
import { kitInitramfs } from './kit.js';

const source = fileURLToPath(new URL('../../guest/vsock-tool/vsock-tool.c', import.meta.url));
const FLAGS = ['-O2', '-std=gnu11', '-Wall', '-Wextra', '-Werror', '-static', '-s'];

/** The tool's path, built unless the cache has it; safe to run concurrently. */
export function buildVsockTool(): string {
  return buildCProgram('vsock-tool', source, FLAGS);
}

/** Writes the kit's initramfs with the tool as /bin/vsock-tool to `path`, for the tests and the bench. */
export function writeKitInitramfsWithVsockTool(path: string): void {
  writeFileSync(path, kitInitramfs([{ path: 'bin/vsock-tool', mode: S_IFREG | 0o755, data: readFileSync(buildVsockTool()) }]));
}

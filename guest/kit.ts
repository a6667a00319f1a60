// `npm run guest`: builds the test kit's Linux (vmlinux and bzImage) and its
// busybox initramfs into a cache outside the repository, keyed by a hash of
// every input. The last line printed is JSON naming the files.
//
// Inputs come from Debian packages only (linux-source-6.1, busybox-static
// and the kernel's build tools), installed with apt-get when missing.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { aptInstall, hasCommand, installedVersion, isRoot } from './apt.js';
import { buildOnce, cacheRoot } from './cache.js';
import { buildCpio, S_IFCHR, S_IFDIR, S_IFREG, type CpioEntry } from './cpio.js';

export interface GuestKit {
  vmlinux: string;
  bzImage: string;
  initramfs: string;
}

const KIT_VERSION = '1';
const KERNEL_TARBALL = '/usr/src/linux-source-6.1.tar.xz';
const KERNEL_DIR = 'linux-source-6.1';
const BUSYBOX = '/bin/busybox';
const PACKAGES = ['linux-source-6.1', 'busybox-static', 'build-essential', 'flex', 'bison', 'bc', 'libelf-dev', 'patch', 'xz-utils'];
const BUILD_TOOLS = ['gcc', 'make', 'flex', 'bison', 'bc', 'patch', 'tar', 'xz'];

const sourceDir = fileURLToPath(new URL('../../guest/', import.meta.url));
const linuxDir = join(sourceDir, 'linux');

function say(message: string): void {
  process.stderr.write(`guest-kit: ${message}\n`);
}

function ensurePackages(): void {
  const missing = !existsSync(KERNEL_TARBALL) || !existsSync(BUSYBOX) || !existsSync('/usr/include/gelf.h') ||
    BUILD_TOOLS.some((tool) => !hasCommand(tool));
  if (!missing) return;
  if (!isRoot()) {
    throw new Error(`missing build inputs; run as root: apt-get install -y ${PACKAGES.join(' ')}`);
  }
  say(`installing ${PACKAGES.join(' ')}`);
  aptInstall(PACKAGES, { recommends: true });
}

function patchFiles(): string[] {
  return readdirSync(join(linuxDir, 'patches')).filter((f) => f.endsWith('.patch')).sort()
    .map((f) => join(linuxDir, 'patches', f));
}

/** Everything that changes the output goes into the cache key. */
function inputHash(): string {
  const hash = createHash('sha256');
  hash.update(`kit ${KIT_VERSION}\n`);
  hash.update(`linux-source-6.1 ${installedVersion('linux-source-6.1')}\n`);
  hash.update(`busybox-static ${installedVersion('busybox-static')}\n`);
  hash.update(`gcc ${installedVersion('gcc-12')}\n`);
  for (const file of [join(linuxDir, 'tsvmm.config'), join(sourceDir, 'initramfs', 'init'), ...patchFiles()]) {
    hash.update(`${file.slice(sourceDir.length)}\n`);
    hash.update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 16);
}

function run(command: string, args: string[], cwd: string): void {
  execFileSync(command, args, { cwd, stdio: ['ignore', 2, 2] });
}

/** Every `CONFIG_X=value` of the fragment must survive olddefconfig. */
function checkConfig(buildDir: string): void {
  const config = readFileSync(join(buildDir, '.config'), 'utf8');
  const wanted = readFileSync(join(linuxDir, 'tsvmm.config'), 'utf8').split('\n')
    .filter((line) => line.startsWith('CONFIG_'));
  const lost = wanted.filter((line) => {
    const [name, value] = line.split('=') as [string, string];
    if (value === 'n') return config.includes(`\n${name}=`);
    return !config.includes(`\n${line}\n`);
  });
  if (lost.length > 0) throw new Error(`kernel config lost options from tsvmm.config: ${lost.join(', ')}`);
}

function buildKernel(workDir: string, outDir: string): void {
  say(`unpacking ${KERNEL_TARBALL}`);
  run('tar', ['xf', KERNEL_TARBALL], workDir);
  const buildDir = join(workDir, KERNEL_DIR);
  for (const patch of patchFiles()) {
    say(`applying ${patch.slice(linuxDir.length + 1)}`);
    run('patch', ['-p1', '-s', '-i', patch], buildDir);
  }
  run('make', ['-s', 'tinyconfig'], buildDir);
  run('scripts/kconfig/merge_config.sh', ['-m', '.config', join(linuxDir, 'tsvmm.config')], buildDir);
  run('make', ['-s', 'olddefconfig'], buildDir);
  checkConfig(buildDir);
  say(`building the kernel with ${cpus().length} jobs (about 5 minutes on 2 cores)`);
  run('make', [`-j${cpus().length}`, 'vmlinux', 'bzImage'], buildDir);
  copyFileSync(join(buildDir, 'vmlinux'), join(outDir, 'vmlinux'));
  copyFileSync(join(buildDir, 'arch/x86/boot/bzImage'), join(outDir, 'bzImage'));
}

export function kitInitramfs(extraFiles: CpioEntry[] = []): Uint8Array {
  const directories = ['bin', 'sbin', 'dev', 'proc', 'sys', 'tmp', 'mnt', 'root', 'etc'];
  return buildCpio([
    ...directories.map((path) => ({ path, mode: S_IFDIR | 0o755 })),
    { path: 'dev/console', mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1 },
    { path: 'bin/busybox', mode: S_IFREG | 0o755, data: readFileSync(BUSYBOX) },
    { path: 'init', mode: S_IFREG | 0o755, data: readFileSync(join(sourceDir, 'initramfs', 'init')) },
    ...extraFiles,
  ]);
}

function kitFiles(dir: string): GuestKit {
  return { vmlinux: join(dir, 'vmlinux'), bzImage: join(dir, 'bzImage'), initramfs: join(dir, 'initramfs.cpio') };
}

/** Builds the kit unless the cache already has it; safe to run concurrently. */
export function buildGuestKit(): GuestKit {
  ensurePackages();
  const dir = join(cacheRoot(), 'guest', inputHash());
  return buildOnce(dir, kitFiles, (work) => {
    const build = join(work, 'build');
    mkdirSync(build);
    buildKernel(build, work);
    writeFileSync(join(work, 'initramfs.cpio'), kitInitramfs());
    rmSync(build, { recursive: true, force: true });
  }, say);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const kit = buildGuestKit();
    process.stdout.write(`${JSON.stringify(kit)}\n`);
  } catch (error) {
    say(`failed: ${(error as Error).message}`);
    process.exit(1);
  }
}

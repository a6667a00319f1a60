// The L1 VM's kernel and initramfs, made from Debian packages only and cached
// outside the repository, keyed by every input: Debian's stock kernel (the
// package linux-image-amd64 depends on, unpacked, never installed), its
// modules for 9p, overlayfs, TUN and KVM, busybox-static, and tests/l1/init.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { missingDbusPackages } from '../helpers/dbus.js';
import { aptDownload, aptInstall, aptListsChanged, aptUpdate, hasCommand, installedVersion, isRoot } from '../../guest/apt.js';
import { cacheRoot } from '../../guest/cache.js';
import { buildCpio, S_IFCHR, S_IFDIR, S_IFREG, type CpioEntry } from '../../guest/cpio.js';

export interface L1Image {
  kernel: string;
  initramfs: string;
  /** An empty ext4 file system for L1's /tmp, used copy-on-write (QEMU's snapshot mode). */
  scratchDisk: string;
  /** The Debian package the kernel came from, with its version. */
  kernelPackage: string;
}

const IMAGE_VERSION = '2';
/** What L1 loads, in no particular order: dependencies are added from modules.dep. */
const MODULES = ['9pnet_virtio', '9p', 'overlay', 'kvm-amd', 'tun', 'virtio_pci', 'virtio_blk', 'ext4', 'crc32c_generic'];
/** The scratch disk's size: sparse, and L1's writes go to a temporary overlay. */
const SCRATCH_DISK_SIZE = '16G';
const BUSYBOX = '/bin/busybox';
const INIT = fileURLToPath(new URL('../../../tests/l1/init', import.meta.url));
const QEMU = 'qemu-system-x86_64';

function say(message: string): void {
  process.stderr.write(`l1: ${message}\n`);
}

/**
 * QEMU's TCG emulates nested SVM far better from version 10 on: with 7.2
 * (Debian 12's own) L1's kernel died or stalled about once in every 20 minutes
 * of tests, with 10 about once in 70 (tests/l1/README.md). Debian 12 has 10.0
 * in bookworm-backports.
 */
const QEMU_MIN_MAJOR = 10;
const BACKPORTS_LIST = '/etc/apt/sources.list.d/tsvmm-bookworm-backports.sources';

function qemuMajor(): number | null {
  const result = spawnSync(QEMU, ['--version'], { encoding: 'utf8' });
  const major = /version (\d+)\./.exec(result.stdout ?? '')?.[1];
  return result.status === 0 && major ? Number(major) : null;
}

function debianCodename(): string | undefined {
  const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  return /^VERSION_CODENAME=(\w+)/m.exec(osRelease)?.[1];
}

/** A recent enough QEMU: Debian's own where it is new enough (13 on), else from bookworm-backports. */
function qemuPackages(): { packages: string[]; release?: string } {
  const major = qemuMajor();
  if (major !== null && major >= QEMU_MIN_MAJOR) return { packages: [] };
  if (debianCodename() !== 'bookworm') return { packages: major === null ? ['qemu-system-x86'] : [] };
  if (!existsSync(BACKPORTS_LIST)) {
    writeFileSync(BACKPORTS_LIST, [
      'Types: deb', 'URIs: http://deb.debian.org/debian', 'Suites: bookworm-backports', 'Components: main',
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg', '',
    ].join('\n'));
    aptListsChanged();
  }
  return { packages: ['qemu-system-x86'], release: 'bookworm-backports' };
}

/** QEMU (recent enough), busybox-static, kmod, e2fsprogs and the D-Bus tools (L1 runs the host's), installed with apt when missing and we are root. */
export function ensureHostPackages(): void {
  const others = [
    ...(existsSync(BUSYBOX) ? [] : ['busybox-static']),
    ...(hasCommand('depmod') ? [] : ['kmod']),
    ...(hasCommand('mkfs.ext4') ? [] : ['e2fsprogs']),
    ...missingDbusPackages(),
  ];
  const root = isRoot();
  const qemu = root ? qemuPackages() : { packages: qemuMajor() === null ? ['qemu-system-x86'] : [] };
  const missing = [...qemu.packages, ...others];
  if (missing.length === 0) return;
  if (!root) throw new Error(`the L1 VM needs ${missing.join(', ')}: run as root, or apt-get install them`);
  say(`installing ${missing.join(' ')}${qemu.release ? ` (QEMU from ${qemu.release})` : ''}`);
  aptInstall(qemu.packages, { release: qemu.release });
  aptInstall(others);
}

/** The suite L1's kernel comes from (TSVMM_L1_KERNEL_SUITE, e.g. bookworm-backports); apt's candidate by default. */
const KERNEL_SUITE = process.env.TSVMM_L1_KERNEL_SUITE;

/** The versioned kernel package that linux-image-amd64 (from KERNEL_SUITE, or apt's candidate) depends on, with its version. */
function kernelPackage(): { name: string; version: string } {
  const lookUp = (): { name: string; version: string } | undefined => {
    const which = KERNEL_SUITE ? [`linux-image-amd64/${KERNEL_SUITE}`] : ['--no-all-versions', 'linux-image-amd64'];
    const show = spawnSync('apt-cache', ['show', ...which], { encoding: 'utf8' }).stdout ?? '';
    const [, name, version] = /^Depends: (linux-image-[\w.+-]+) \(= (\S+)\)/m.exec(show) ?? [];
    return name && version ? { name, version } : undefined;
  };
  let found = lookUp();
  if (!found) {
    aptUpdate();
    found = lookUp();
  }
  if (!found) throw new Error(`apt knows no linux-image-amd64${KERNEL_SUITE ? ` in ${KERNEL_SUITE}` : ''}: the L1 VM needs Debian's kernel package`);
  return found;
}

/** Downloads and unpacks the kernel package into `dir` (kept in the cache, keyed by version). */
function unpackKernel(pkg: { name: string; version: string }, dir: string): void {
  if (existsSync(join(dir, 'done'))) return;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  say(`downloading ${pkg.name} ${pkg.version}`);
  aptDownload(pkg.name, pkg.version, dir);
  const deb = readdirSync(dir).find((f) => f.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download left no .deb in ${dir}`);
  execFileSync('dpkg-deb', ['-x', deb, 'root'], { cwd: dir, stdio: ['ignore', 2, 2] });
  rmSync(join(dir, deb));
  const release = readdirSync(join(dir, 'root/lib/modules'))[0] as string;
  execFileSync('depmod', ['-b', join(dir, 'root'), release], { stdio: ['ignore', 2, 2] });
  writeFileSync(join(dir, 'done'), `${release}\n`);
}

/** `names` and everything they depend on, dependencies first, as paths under the release's module folder; those built in (`builtin`, modules.builtin) need no loading. */
export function moduleLoadOrder(modulesDep: string, names: string[], builtin = ''): string[] {
  const inKernel = new Set(builtin.split('\n').filter((path) => path !== '').map(moduleName));
  const deps = new Map<string, string[]>();
  for (const line of modulesDep.split('\n')) {
    const [module, rest] = line.split(':');
    if (!module || rest === undefined) continue;
    deps.set(module, rest.trim() === '' ? [] : rest.trim().split(/\s+/));
  }
  const byName = new Map([...deps.keys()].map((path) => [moduleName(path), path]));
  const order: string[] = [];
  const visit = (path: string): void => {
    if (order.includes(path)) return;
    for (const dep of deps.get(path) ?? []) visit(dep);
    order.push(path);
  };
  for (const name of names) {
    if (inKernel.has(name.replace(/-/g, '_'))) continue;
    const path = byName.get(name.replace(/-/g, '_'));
    if (!path) throw new Error(`the L1 kernel has no module ${name}`);
    visit(path);
  }
  return order;
}

function moduleName(path: string): string {
  const file = path.slice(path.lastIndexOf('/') + 1);
  return file.replace(/\.ko(\.\w+)?$/, '').replace(/-/g, '_');
}

function buildInitramfs(kernelDir: string): Uint8Array {
  const release = readFileSync(join(kernelDir, 'done'), 'utf8').trim();
  const moduleDir = join(kernelDir, 'root/lib/modules', release);
  const builtin = existsSync(join(moduleDir, 'modules.builtin')) ? readFileSync(join(moduleDir, 'modules.builtin'), 'utf8') : '';
  const order = moduleLoadOrder(readFileSync(join(moduleDir, 'modules.dep'), 'utf8'), MODULES, builtin);
  // busybox's insmod takes plain modules; newer kernels ship them compressed (.ko.xz, .ko.zst).
  const flat = order.map((path) => `${moduleName(path)}.ko`);
  const entries: CpioEntry[] = [
    ...['bin', 'dev', 'proc', 'sys', 'mnt', 'modules', 'tmp'].map((path) => ({ path, mode: S_IFDIR | 0o755 })),
    { path: 'dev/console', mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1 },
    { path: 'bin/busybox', mode: S_IFREG | 0o755, data: readFileSync(BUSYBOX) },
    { path: 'init', mode: S_IFREG | 0o755, data: readFileSync(INIT) },
    { path: 'modules/order', mode: S_IFREG | 0o644, data: new TextEncoder().encode(`${flat.join('\n')}\n`) },
    ...order.map((path, i) => ({ path: `modules/${flat[i]}`, mode: S_IFREG | 0o644, data: plainModule(join(moduleDir, path)) })),
  ];
  return buildCpio(entries);
}

function plainModule(path: string): Uint8Array {
  if (path.endsWith('.ko')) return readFileSync(path);
  const tool = path.endsWith('.xz') ? 'xz' : path.endsWith('.zst') ? 'zstd' : undefined;
  if (!tool) throw new Error(`L1: no way to decompress ${path}`);
  return execFileSync(tool, ['-dc', path], { maxBuffer: 256 * 1024 * 1024 });
}

function imageFiles(dir: string, kernelPackageName: string): L1Image {
  return {
    kernel: join(dir, 'vmlinuz'), initramfs: join(dir, 'initramfs.cpio'), scratchDisk: join(dir, 'scratch.ext4'),
    kernelPackage: kernelPackageName,
  };
}

/** Few inodes (one per 256 KiB): inode tables and journal are written now, natively, rather than lazily by L1 under emulation. */
function makeScratchDisk(path: string): void {
  execFileSync('truncate', ['-s', SCRATCH_DISK_SIZE, path]);
  execFileSync('mkfs.ext4', ['-q', '-F', '-L', 'l1-scratch', '-i', '262144', '-E', 'lazy_itable_init=0,lazy_journal_init=0', path], { stdio: ['ignore', 2, 2] });
}

let built: L1Image | undefined;

/**
 * Builds the L1 image unless the cache has it (seconds, plus a 70 MB download
 * the first time). Once per process: npm test prepares it, then boots L1 once or twice.
 */
export function buildL1Image(): L1Image {
  built ??= buildOrFindL1Image();
  return built;
}

function buildOrFindL1Image(): L1Image {
  ensureHostPackages();
  const pkg = kernelPackage();
  const hash = createHash('sha256');
  hash.update(`l1 ${IMAGE_VERSION}\n${pkg.name} ${pkg.version}\nbusybox-static ${installedVersion('busybox-static')}\n`);
  hash.update(`modules ${MODULES.join(' ')}\nscratch ${SCRATCH_DISK_SIZE}\n`);
  hash.update(readFileSync(INIT));
  const root = join(cacheRoot(), 'l1');
  const dir = join(root, hash.digest('hex').slice(0, 16));
  const files = imageFiles(dir, `${pkg.name} ${pkg.version}`);
  if (Object.values(files).every((file) => file === files.kernelPackage || existsSync(file))) return files;

  const kernelDir = join(root, `${pkg.name}_${pkg.version}`);
  unpackKernel(pkg, kernelDir);
  const work = `${dir}.work.${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const release = readFileSync(join(kernelDir, 'done'), 'utf8').trim();
  writeFileSync(join(work, 'vmlinuz'), readFileSync(join(kernelDir, 'root/boot', `vmlinuz-${release}`)));
  writeFileSync(join(work, 'initramfs.cpio'), buildInitramfs(kernelDir));
  makeScratchDisk(join(work, 'scratch.ext4'));
  rmSync(dir, { recursive: true, force: true });
  renameSync(work, dir);
  return files;
}

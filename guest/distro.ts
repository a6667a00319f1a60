// `npm run distro`: a Debian 12 test image made only from Debian's packages,
// for booting an unmodified distribution: debootstrap's minimal system with
// systemd, udev, iproute2, systemd-networkd, cloud-init, sshd and the stock
// kernel (linux-image-amd64) whose initrd initramfs-tools made, in a raw ext4
// image. The kernel and the initrd are taken out of it for --kernel and
// --initramfs. Cached under ~/.cache/tsvmm/distro/<hash>/, the hash covering
// the package versions apt would install and the files in guest/distro/. The
// last line printed is JSON naming the files.
//
// In the image: root's password is "tsvmm" and every serial console (ttyS0,
// hvc0) logs root in by itself; tsvmm-marker.service prints
// TSVMM_GUEST_BOOTED once multi-user.target is reached and runs the commands
// given as tsvmm.run64=BASE64 on the kernel command line (guest/distro/).
// cloud-init looks only for a NoCloud seed (guest/cloud-seed.ts makes one) and
// writes its network configuration for systemd-networkd.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { aptInstall, candidateVersion, hasCommand, isRoot } from './apt.js';
import { buildOnce, cacheRoot, filesPresent } from './cache.js';

export interface DistroImage {
  kernel: string;
  initrd: string;
  rootfs: string;
}

const DISTRO_VERSION = '2';
const SUITE = 'bookworm';
const MIRROR = 'http://deb.debian.org/debian';
const PACKAGES = [
  'systemd', 'systemd-sysv', 'udev', 'dbus', 'iproute2', 'iputils-ping', 'kmod', 'procps', 'busybox', 'initramfs-tools',
  'linux-image-amd64', 'openssh-server', 'cloud-init',
  // debootstrap does not resolve virtual packages: python3-cryptography needs python3-cffi-backend-api-*, which this provides.
  'python3-cffi-backend',
];
/** Sparse: the system takes about 1 GB of it. */
const IMAGE_SIZE = '2G';
export const DISTRO_ROOT_PASSWORD = 'tsvmm';
export const DISTRO_HOSTNAME = 'tsvmm-debian';

const filesDir = fileURLToPath(new URL('../../guest/distro/', import.meta.url));

function say(message: string): void {
  process.stderr.write(`distro: ${message}\n`);
}

/**
 * The host's tools: debootstrap and mkfs.ext4 for the image; for the tests
 * that use it, mkfs.fat and mcopy for cloud-init seed disks and ssh and
 * ssh-keygen to log in (inside L1 the host's tools are the ones there).
 */
function ensureTools(): void {
  const wanted: Array<[string, string]> = [
    ['debootstrap', 'debootstrap'], ['mkfs.ext4', 'e2fsprogs'], ['mkfs.fat', 'dosfstools'], ['mcopy', 'mtools'], ['ssh', 'openssh-client'],
  ];
  const missing = wanted.filter(([command]) => !hasCommand(command)).map(([, name]) => name);
  if (missing.length === 0) return;
  if (!isRoot()) throw new Error(`the distribution image and its tests need ${missing.join(', ')}: run as root, or apt-get install them`);
  say(`installing ${missing.join(' ')}`);
  aptInstall(missing);
}

function inputHash(): string {
  const hash = createHash('sha256');
  hash.update(`distro ${DISTRO_VERSION} ${SUITE} ${MIRROR} ${IMAGE_SIZE} ${DISTRO_HOSTNAME} ${DISTRO_ROOT_PASSWORD}\n`);
  for (const name of PACKAGES) hash.update(`${name} ${candidateVersion(name)}\n`);
  for (const name of readdirSync(filesDir).sort()) hash.update(name).update(readFileSync(join(filesDir, name)));
  return hash.digest('hex').slice(0, 16);
}

function run(command: string, args: string[]): void {
  execFileSync(command, args, { stdio: ['ignore', 2, 2] });
}

function install(root: string, name: string, target: string, mode: number): void {
  mkdirSync(join(root, target, '..'), { recursive: true });
  copyFileSync(join(filesDir, name), join(root, target));
  execFileSync('chmod', [mode.toString(8), join(root, target)]);
}

/** What makes the debootstrapped system a test image: fstab, hostname, logins, the marker. */
function configure(root: string): void {
  writeFileSync(join(root, 'etc/hostname'), `${DISTRO_HOSTNAME}\n`);
  writeFileSync(join(root, 'etc/hosts'), `127.0.0.1 localhost\n127.0.1.1 ${DISTRO_HOSTNAME}\n`);
  writeFileSync(join(root, 'etc/fstab'), '/dev/vda / ext4 rw,errors=remount-ro 0 1\n');
  execFileSync('chroot', [root, 'chpasswd'], { input: `root:${DISTRO_ROOT_PASSWORD}\n`, stdio: ['pipe', 2, 2] });
  install(root, 'autologin.conf', 'etc/systemd/system/serial-getty@.service.d/autologin.conf', 0o644);
  install(root, 'hvc0-getty.rules', 'etc/udev/rules.d/90-tsvmm-hvc0-getty.rules', 0o644);
  install(root, 'tsvmm-marker', 'usr/local/sbin/tsvmm-marker', 0o755);
  install(root, 'tsvmm-marker.service', 'etc/systemd/system/tsvmm-marker.service', 0o644);
  install(root, 'cloud.cfg', 'etc/cloud/cloud.cfg.d/99-tsvmm.cfg', 0o644);
  install(root, 'wait-online.conf', 'etc/systemd/system/systemd-networkd-wait-online.service.d/any.conf', 0o644);
  run('chroot', [root, 'systemctl', 'enable', 'tsvmm-marker.service', 'systemd-networkd.service']);
  // e2scrub_reap looks for LVM snapshots left by e2scrub at every boot, and multi-user.target
  // waits for it: over a minute under emulation, for a volume manager the image does not have.
  run('chroot', [root, 'systemctl', 'mask', 'e2scrub_reap.service', 'e2scrub_all.timer']);
}

/** The one file in `dir` that starts with `prefix` (vmlinuz-6.1.0-NN-amd64, ...). */
function onlyFile(dir: string, prefix: string): string {
  const found = readdirSync(dir).filter((name) => name.startsWith(prefix));
  if (found.length !== 1) throw new Error(`expected one ${prefix}* in ${dir}, found ${found.length}`);
  return join(dir, found[0] as string);
}

function build(work: string): void {
  const root = join(work, 'root');
  say(`debootstrap ${SUITE} with ${PACKAGES.join(', ')} (about 4 minutes)`);
  run('debootstrap', ['--variant=minbase', `--include=${PACKAGES.join(',')}`, SUITE, root, MIRROR]);
  configure(root);
  copyFileSync(onlyFile(join(root, 'boot'), 'vmlinuz-'), join(work, 'vmlinuz'));
  copyFileSync(onlyFile(join(root, 'boot'), 'initrd.img-'), join(work, 'initrd.img'));
  run('chroot', [root, 'apt-get', 'clean']);
  say(`making a ${IMAGE_SIZE} ext4 image of it`);
  run('mkfs.ext4', ['-q', '-L', 'root', '-d', root, join(work, 'rootfs.ext4'), IMAGE_SIZE]);
  rmSync(root, { recursive: true, force: true });
}

function imageFiles(dir: string): DistroImage {
  return { kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'), rootfs: join(dir, 'rootfs.ext4') };
}

/** `npm test` boots the image unless this is 0 (the Debian files are its longest: the README's distribution section). */
export const DISTRO_TEST_ENV = 'TSVMM_TEST_DISTRO';

export function distroTestWanted(): boolean {
  return process.env[DISTRO_TEST_ENV] !== '0';
}

/**
 * Set by the harness outside L1 (tests/l1/vm.ts) for the tests inside it: why
 * the image cannot be had (they skip with it), or why its build failed (they
 * fail with it). Inside L1 nothing builds it again: under emulation that takes
 * an hour.
 */
export const DISTRO_SKIP_ENV = 'TSVMM_DISTRO_SKIP';
export const DISTRO_ERROR_ENV = 'TSVMM_DISTRO_ERROR';

/** Why the Debian tests do not run here, or false when they do: turned off, or no image and no root to build one. */
export function distroTestSkip(): string | false {
  if (!distroTestWanted()) return `turned off (${DISTRO_TEST_ENV}=0)`;
  const handed = process.env[DISTRO_SKIP_ENV];
  if (handed) return handed;
  const given = process.env[DISTRO_DIR_ENV];
  if ((given && filesPresent(imageFiles(given))) || isRoot()) return false;
  if (filesPresent(imageFiles(join(cacheRoot(), 'distro', inputHash())))) return false;
  return 'no Debian image is cached and building one needs root (debootstrap, chroot): run `npm run distro` as root';
}

/**
 * The folder of an image already built, for a process that should not work
 * out the cache key again: inside L1, under emulation, asking apt for the
 * package versions takes minutes.
 */
export const DISTRO_DIR_ENV = 'TSVMM_DISTRO_DIR';

/** Builds the image unless the cache has it; safe to run concurrently. Needs root (debootstrap, chroot). */
export function buildDistroImage(): DistroImage {
  const failed = process.env[DISTRO_ERROR_ENV];
  if (failed) throw new Error(`the Debian image could not be built: ${failed}`);
  const given = process.env[DISTRO_DIR_ENV];
  if (given && filesPresent(imageFiles(given))) return imageFiles(given);
  ensureTools();
  const dir = join(cacheRoot(), 'distro', inputHash());
  if (!filesPresent(imageFiles(dir)) && !isRoot()) throw new Error('building the distribution image needs root (debootstrap and chroot)');
  return buildOnce(dir, imageFiles, build, say);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const started = Date.now();
    const image = buildDistroImage();
    say(`ready in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    process.stdout.write(`${JSON.stringify(image)}\n`);
  } catch (error) {
    say(`failed: ${(error as Error).message}`);
    process.exit(1);
  }
}

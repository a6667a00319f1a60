// Debian's packages, the only source of the guests' and tests' inputs:
// installing what is missing (as root) and reading versions for cache keys.
import { execFileSync, spawnSync } from 'node:child_process';

function aptEnv(): NodeJS.ProcessEnv {
  return { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
}

let updated = false;

/** The package lists changed (a source was added): the next install updates them first. */
export function aptListsChanged(): void {
  updated = false;
}

/** `apt-get update`, once per process unless the lists changed. */
export function aptUpdate(): void {
  if (updated) return;
  execFileSync('apt-get', ['update', '-q'], { stdio: ['ignore', 2, 2], env: aptEnv() });
  updated = true;
}

export interface AptInstallOptions {
  /** The suite to take the packages from (bookworm-backports). */
  release?: string;
  /** Also what the packages recommend (the kit's kernel build always had them). */
  recommends?: boolean;
}

/** `apt-get install`, without recommends unless asked. */
export function aptInstall(packages: string[], options: AptInstallOptions = {}): void {
  if (packages.length === 0) return;
  aptUpdate();
  const args = [...(options.recommends ? [] : ['--no-install-recommends']), ...(options.release ? ['-t', options.release] : [])];
  execFileSync('apt-get', ['install', '-y', '-q', ...args, ...packages], { stdio: ['ignore', 2, 2], env: aptEnv() });
}

/** `apt-get download` of one exact version into `dir`. */
export function aptDownload(name: string, version: string, dir: string): void {
  execFileSync('apt-get', ['download', `${name}=${version}`], { cwd: dir, stdio: ['ignore', 2, 2], env: aptEnv() });
}

export function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** The installed version of a package, or 'missing'. */
export function installedVersion(name: string): string {
  const result = spawnSync('dpkg-query', ['-W', '-f=${Version}', name], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : 'missing';
}

/** The version apt would install now, or 'unknown' (no package lists). */
export function candidateVersion(name: string): string {
  const result = spawnSync('apt-cache', ['show', '--no-all-versions', name], { encoding: 'utf8' });
  return /^Version: (\S+)/m.exec(result.stdout ?? '')?.[1] ?? 'unknown';
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

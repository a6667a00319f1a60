// Opening a file a user named (kernel, initramfs, disk image, rng source,
// console output) without letting it block or flood the VMM: opened
// non-blocking, so a FIFO without a peer cannot hang the control loop, and
// refused unless it is a kind of file that makes sense for its use.
import { closeSync, constants, fstatSync, openSync, type Stats } from 'node:fs';
import { ConfigError, errnoOf } from './errors.js';

export type FileKind = 'regular file' | 'block device' | 'character device';

function kindOf(stat: Stats): FileKind | undefined {
  if (stat.isFile()) return 'regular file';
  if (stat.isBlockDevice()) return 'block device';
  if (stat.isCharacterDevice()) return 'character device';
  return undefined;
}

function describeKind(stat: Stats): string {
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  if (stat.isDirectory()) return 'a directory';
  return `a ${kindOf(stat) ?? 'special file'}`;
}

export interface OpenedFile {
  fd: number;
  stat: Stats;
}

/** Opens `path` for `what` with `flags` (O_NONBLOCK is added); a kind not in `allowed` is a 400 naming the file. */
export function openHostFile(what: string, path: string, flags: number, allowed: readonly FileKind[], mode = 0o600): OpenedFile {
  let fd: number;
  try {
    fd = openSync(path, flags | constants.O_NONBLOCK, mode);
  } catch (error) {
    throw new ConfigError(`cannot open ${what} ${path}: ${errnoOf(error)}`, { code: 'HostFileRejected', cause: error });
  }
  const stat = fstatSync(fd);
  const kind = kindOf(stat);
  if (kind === undefined || !allowed.includes(kind)) {
    closeSync(fd);
    throw new ConfigError(`${what} ${path} is ${describeKind(stat)}; it must be a ${allowed.join(' or ')}`, { code: 'HostFileRejected' });
  }
  return { fd, stat };
}

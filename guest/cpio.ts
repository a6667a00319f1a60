// A writer for the "newc" cpio format the Linux initramfs unpacker reads.
// Written here rather than calling cpio(1) so that device nodes such as
// /dev/console can be added without root.

export interface CpioEntry {
  path: string;
  /** File type and permission bits, e.g. 0o100755 for an executable. */
  mode: number;
  data?: Uint8Array;
  /** For device nodes. */
  rdevMajor?: number;
  rdevMinor?: number;
}

export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;

const TRAILER = 'TRAILER!!!';

function hex8(value: number): string {
  return value.toString(16).padStart(8, '0');
}

function pad4(length: number): number {
  return (4 - (length % 4)) % 4;
}

export function buildCpio(entries: CpioEntry[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  const encoder = new TextEncoder();
  let inode = 1;
  const add = (entry: CpioEntry): void => {
    const name = encoder.encode(`${entry.path}\0`);
    const data = entry.data ?? new Uint8Array(0);
    const header = `070701${[
      inode++, entry.mode, 0, 0, 1, 0, data.length, 0, 0,
      entry.rdevMajor ?? 0, entry.rdevMinor ?? 0, name.length, 0,
    ].map(hex8).join('')}`;
    chunks.push(encoder.encode(header), name, new Uint8Array(pad4(110 + name.length)));
    chunks.push(data, new Uint8Array(pad4(data.length)));
  };
  entries.forEach(add);
  add({ path: TRAILER, mode: 0 });
  const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const archive = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    archive.set(chunk, offset);
    offset += chunk.length;
  }
  return archive;
}

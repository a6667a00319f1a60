// A snapshot's guest memory: one file laid out as the guest memory mapping
// is, with holes where pages are zero. Only pages holding data are written
// (the manifest lists them as ranges, with a SHA-256 of their bytes), so a
// mostly idle guest makes a small file and a restore reads only that data.
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { native } from '../native.js';
import { GuestMemory } from '../vm/memory.js';
import { type Manifest } from './manifest.js';
import { SnapshotError } from '../util/errors.js';

const PAGE = 4096;
/** One write or read at most; progress is reported between them. */
const CHUNK = 16 << 20;

export type MemoryRange = [offset: number, length: number];
/** Called after each chunk with the bytes done and the bytes in all. */
export type Progress = (done: number, total: number) => void;

/** The runs of marked pages (1 in `pages`, one byte per page from mapping offset `base`), each at most `maxBytes` long. */
export function pageRuns(base: number, pages: Uint8Array, maxBytes: number): MemoryRange[] {
  const ranges: MemoryRange[] = [];
  let start = -1;
  const flush = (end: number): void => {
    ranges.push([base + start * PAGE, (end - start) * PAGE]);
    start = -1;
  };
  for (let page = 0; page < pages.length; page++) {
    if (pages[page] !== 1) {
      if (start >= 0) flush(page);
    } else if (start < 0) {
      start = page;
    } else if ((page - start) * PAGE >= maxBytes) {
      flush(page);
      start = page;
    }
  }
  if (start >= 0) flush(pages.length);
  return ranges;
}

/** The runs of non-zero pages, by offset in the mapping, each at most `maxBytes` long and within one region. */
export function dataRanges(memory: GuestMemory, maxBytes = CHUNK): MemoryRange[] {
  return memory.layout.regions.flatMap((region) =>
    pageRuns(region.hostOffset, native.nonZeroPages(memory.layout.memoryId, region.hostOffset, region.size), maxBytes));
}

export function totalOf(ranges: MemoryRange[]): number {
  return ranges.reduce((sum, [, length]) => sum + length, 0);
}

async function writeAll(file: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < bytes.length;) {
    const { bytesWritten } = await file.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/** Writes the memory's data pages to `path` (a sparse file of the memory's size). */
export async function writeMemoryFile(memory: GuestMemory, path: string, progress: Progress): Promise<Manifest['memory']> {
  const ranges = dataRanges(memory);
  const total = totalOf(ranges);
  const hash = createHash('sha256');
  const file = await open(path, 'wx');
  try {
    await file.truncate(memory.layout.size);
    let done = 0;
    for (const [offset, length] of ranges) {
      const bytes = memory.mappingBytes(offset, length);
      hash.update(bytes);
      await writeAll(file, bytes, offset);
      done += length;
      progress(done, total);
    }
    await file.sync();
  } finally {
    await file.close();
  }
  return { file: 'memory', size: memory.layout.size, ranges, sha256: hash.digest('hex') };
}

function checkFileSize(path: string, fd: number, size: number): void {
  const actual = fstatSync(fd).size;
  if (actual !== size) throw new SnapshotError(`the snapshot's memory file ${path} has ${actual} bytes, not ${size}: it is truncated or not this snapshot's`);
}

/** Reads the data ranges into fresh guest memory, checking their SHA-256. */
export async function readMemoryFile(memory: GuestMemory, path: string, saved: Manifest['memory'], progress: Progress): Promise<void> {
  const file = await open(path, 'r');
  try {
    checkFileSize(path, file.fd, saved.size);
    const hash = createHash('sha256');
    const total = totalOf(saved.ranges);
    let done = 0;
    for (const [offset, length] of saved.ranges) {
      const bytes = memory.mappingBytes(offset, length);
      for (let read = 0; read < length;) {
        const { bytesRead } = await file.read(bytes, read, length - read, offset + read);
        if (bytesRead === 0) throw new SnapshotError(`the snapshot's memory file ${path} ends inside a saved range`);
        read += bytesRead;
      }
      hash.update(bytes);
      done += length;
      progress(done, total);
    }
    if (hash.digest('hex') !== saved.sha256) throw new SnapshotError(`the snapshot's memory file ${path} is corrupt: its data does not match the manifest's SHA-256`);
  } finally {
    await file.close();
  }
}

/**
 * Maps the memory file copy-on-write: the guest reads pages from it as it
 * touches them. With `prefault`, every saved page is read now and checked
 * against the manifest's SHA-256 (without it, nothing is read, so nothing is
 * checked but the file's size).
 */
export function mapMemoryFile(path: string, saved: Manifest['memory'], prefault: boolean): GuestMemory {
  const fd = openSync(path, 'r');
  let memory: GuestMemory;
  try {
    checkFileSize(path, fd, saved.size);
    // The mapping keeps its own reference to the file.
    memory = GuestMemory.mapFile(fd, saved.size);
  } finally {
    closeSync(fd);
  }
  if (prefault) {
    const hash = createHash('sha256');
    for (const [offset, length] of saved.ranges) hash.update(memory.mappingBytes(offset, length));
    if (hash.digest('hex') !== saved.sha256) {
      memory.free();
      throw new SnapshotError(`the snapshot's memory file ${path} is corrupt: its data does not match the manifest's SHA-256`);
    }
  }
  return memory;
}

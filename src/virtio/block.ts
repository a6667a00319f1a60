// virtio-blk (virtio 1.2, section 5.2) over a raw image. A request is a
// 16-byte header (type, reserved, sector), data buffers, and a one-byte
// status the device writes last. Sector ranges are checked against the
// capacity. Reads and writes go between the image and guest memory with
// preadv/pwritev in libuv's thread pool, several requests at a time.
import { close, fdatasync, readv, writev } from 'node:fs';
import { promisify } from 'node:util';
import { EAGAIN, native } from '../native.js';

const EOPNOTSUPP = 95;
import { after, gather, totalLength } from './buffers.js';
import { LatencyStats } from './latency.js';
import { RateLimitedLog } from '../util/rate-limit.js';
import type { DescriptorChain } from './queue.js';
import { VirtioDeviceId, type DeviceQueues, type VirtioDevice } from './device.js';

export const SECTOR_SIZE = 512;
const HEADER_SIZE = 16;
const ID_BYTES = 20;
const SEGMENT_SIZE = 16;
export const DEFAULT_QUEUE_SIZE = 256;
/** Requests handed to the thread pool at once; more wait in the ring. */
export const MAX_IN_FLIGHT = 64;
/** Discard and write-zeroes: ranges per request, and sectors per range. */
const MAX_RANGES = 32;
const MAX_RANGE_SECTORS = 0x3f_ffff;

export const BlockRequest = { In: 0, Out: 1, Flush: 4, GetId: 8, Discard: 11, WriteZeroes: 13 } as const;
export const BlockStatus = { Ok: 0, IoError: 1, Unsupported: 2 } as const;
export const BlockFeature = { SegMax: 2, Ro: 5, Flush: 9, Discard: 13, WriteZeroes: 14 } as const;
const WRITE_ZEROES_UNMAP = 1;
const FALLOC_FL_KEEP_SIZE = 1;
const FALLOC_FL_PUNCH_HOLE = 2;
const FALLOC_FL_ZERO_RANGE = 0x10;
/** Config space offsets (struct virtio_blk_config). */
const ConfigOffset = {
  Capacity: 0, SegMax: 12, MaxDiscardSectors: 36, MaxDiscardSeg: 40, DiscardSectorAlignment: 44,
  MaxWriteZeroesSectors: 48, MaxWriteZeroesSeg: 52, WriteZeroesMayUnmap: 56, Size: 60,
} as const;

export interface BlockImage {
  fd: number;
  /** Bytes; a partial last sector is not exposed. */
  size: number;
  readonly: boolean;
  /** The serial reported by GET_ID (at most 20 bytes are used). */
  serial: string;
  /** The image can punch holes and zero ranges (a regular file or block device, writable). */
  discard: boolean;
  /** Opened O_DIRECT: nothing comes from the page cache, so every transfer goes to the thread pool. */
  direct?: boolean;
}

interface Request {
  type: number;
  sector: bigint;
  /** Device-readable bytes after the header. */
  input: Uint8Array[];
  /** Device-writable bytes before the status byte. */
  output: Uint8Array[];
  status: Uint8Array;
}

type Outcome = [status: number, written: number];

type Done = (outcome: Outcome) => void;
const closeFd = promisify(close);

/** Splits a chain into header fields, data and status; undefined when it has no status byte. */
function parseRequest(chain: DescriptorChain): Request | { status: Uint8Array } | undefined {
  const statusBuffer = chain.writable[chain.writable.length - 1];
  if (!statusBuffer || statusBuffer.length === 0) return undefined;
  const status = statusBuffer.subarray(statusBuffer.length - 1);
  const output = chain.writable.slice(0, -1);
  if (statusBuffer.length > 1) output.push(statusBuffer.subarray(0, statusBuffer.length - 1));
  const header = gather(chain.readable, HEADER_SIZE);
  if (!header) return { status };
  const view = new DataView(header.buffer);
  return {
    type: view.getUint32(0, true),
    sector: view.getBigUint64(8, true),
    input: after(chain.readable, HEADER_SIZE),
    output,
    status,
  };
}

export class VirtioBlock implements VirtioDevice {
  readonly deviceId = VirtioDeviceId.Block;
  readonly features: bigint;
  readonly queueSizes: number[];
  readonly config: Uint8Array;
  private readonly sectors: bigint;
  private readonly stats = { read_bytes: 0, write_bytes: 0, read_ops: 0, write_ops: 0, discard_ops: 0, write_zeroes_ops: 0 };
  private readonly latency = { read: new LatencyStats(), write: new LatencyStats() };
  /** Requests the guest got wrong, and host I/O that failed (with the last errno). */
  private readonly failures = { malformed_requests: 0, out_of_range: 0, io_errors: 0, last_errno: 0 };
  private readonly failureLog = new RateLimitedLog();
  private queues: DeviceQueues | undefined;
  private inFlight = 0;
  private drained: Array<() => void> = [];
  private closed: Promise<void> | undefined;

  constructor(readonly id: string, private readonly image: BlockImage, queueSize = DEFAULT_QUEUE_SIZE) {
    this.queueSizes = [queueSize];
    this.sectors = BigInt(Math.floor(image.size / SECTOR_SIZE));
    const bit = (n: number): bigint => 1n << BigInt(n);
    this.features = bit(BlockFeature.Flush) | bit(BlockFeature.SegMax)
      | (image.readonly ? bit(BlockFeature.Ro) : 0n)
      | (image.discard ? bit(BlockFeature.Discard) | bit(BlockFeature.WriteZeroes) : 0n);
    this.config = new Uint8Array(ConfigOffset.Size);
    const view = new DataView(this.config.buffer);
    view.setBigUint64(ConfigOffset.Capacity, this.sectors, true);
    // A chain holds the header and the status besides its data segments.
    view.setUint32(ConfigOffset.SegMax, queueSize - 2, true);
    if (image.discard) {
      view.setUint32(ConfigOffset.MaxDiscardSectors, MAX_RANGE_SECTORS, true);
      view.setUint32(ConfigOffset.MaxDiscardSeg, MAX_RANGES, true);
      view.setUint32(ConfigOffset.DiscardSectorAlignment, 1, true);
      view.setUint32(ConfigOffset.MaxWriteZeroesSectors, MAX_RANGE_SECTORS, true);
      view.setUint32(ConfigOffset.MaxWriteZeroesSeg, MAX_RANGES, true);
      view.setUint8(ConfigOffset.WriteZeroesMayUnmap, 1);
    }
  }

  activate(queues: DeviceQueues): void {
    this.queues = queues;
  }

  /** Starts requests until the ring is empty or MAX_IN_FLIGHT are running. */
  notify(queue: number): void {
    const queues = this.queues;
    if (!queues) return;
    while (this.inFlight < MAX_IN_FLIGHT && queues.live) {
      const chain = queues.pop(queue);
      if (!chain) return;
      this.start(queues, queue, chain);
    }
  }

  private start(queues: DeviceQueues, queue: number, chain: DescriptorChain): void {
    const request = parseRequest(chain);
    if (!request) {
      this.failures.malformed_requests++;
      queues.complete(queue, chain.head, 0); // nowhere to say anything: returned unanswered
      return;
    }
    if (!('type' in request)) {
      this.failures.malformed_requests++;
      request.status[0] = BlockStatus.IoError;
      queues.complete(queue, chain.head, 1);
      return;
    }
    this.inFlight++;
    let synchronous = true;
    const started = process.hrtime.bigint();
    this.execute(request, ([status, written]) => {
      this.inFlight--;
      if (status === BlockStatus.Ok) this.recordLatency(request.type, started);
      // After a reset the buffers may belong to something else: leave them alone.
      if (queues.live) {
        request.status[0] = status;
        queues.complete(queue, chain.head, written + 1);
      }
      if (this.inFlight === 0) this.drained.splice(0).forEach((resolve) => resolve());
      // A request done at once is followed by the caller's loop; a later one restarts it.
      if (!synchronous) this.notify(queue);
    });
    synchronous = false;
  }

  /** Calls `done` exactly once, later or at once; a failed host call is an I/O error for the guest. */
  private execute(request: Request, done: Done): void {
    switch (request.type) {
      case BlockRequest.In: return this.transfer('read', request.sector, request.output, done);
      case BlockRequest.Out:
        if (this.image.readonly) return done([BlockStatus.IoError, 0]);
        return this.transfer('write', request.sector, request.input, done);
      case BlockRequest.Flush:
        if (this.image.readonly) return done([BlockStatus.Ok, 0]);
        return fdatasync(this.image.fd, (error) => done(error ? this.hostFailure('flush', error) : [BlockStatus.Ok, 0]));
      case BlockRequest.GetId: return done(this.getId(request.output));
      case BlockRequest.Discard:
      case BlockRequest.WriteZeroes: return done(this.deallocateOrFail(request));
      default: return done([BlockStatus.Unsupported, 0]);
    }
  }

  /** The byte offset of a transfer, or undefined when it is not whole sectors inside the disk. */
  private offsetOf(sector: bigint, length: number): number | undefined {
    if (length % SECTOR_SIZE !== 0) return undefined;
    if (sector > this.sectors || BigInt(length / SECTOR_SIZE) > this.sectors - sector) return undefined;
    return Number(sector) * SECTOR_SIZE;
  }

  /**
   * First a non-blocking preadv2/pwritev2 in this thread (page-cache hits
   * finish at once); what would block goes to the thread pool, continued
   * where a short transfer stopped.
   */
  private transfer(direction: 'read' | 'write', sector: bigint, buffers: Uint8Array[], done: Done): void {
    const length = totalLength(buffers);
    const offset = this.offsetOf(sector, length);
    if (offset === undefined) {
      this.failures.out_of_range++;
      return done([BlockStatus.IoError, 0]);
    }
    const finished = (): void => {
      if (direction === 'read') {
        this.stats.read_bytes += length;
        this.stats.read_ops++;
      } else {
        this.stats.write_bytes += length;
        this.stats.write_ops++;
      }
      done([BlockStatus.Ok, direction === 'read' ? length : 0]);
    };
    const step = (remaining: Uint8Array[], position: number): void => {
      const next = (error: Error | null, n: number): void => {
        if (error) return done(this.hostFailure(direction, error));
        if (n === 0) return done(this.hostFailure(`${direction} past the end of the image (truncated?)`, null));
        const rest = after(remaining, n);
        if (rest.length === 0) finished();
        else step(rest, position + n);
      };
      if (direction === 'read') readv(this.image.fd, remaining, position, next);
      else writev(this.image.fd, remaining, position, next);
    };
    if (this.image.direct) return step(buffers, offset);
    const now = direction === 'read'
      ? native.tryPreadv(this.image.fd, buffers, offset)
      : native.tryPwritev(this.image.fd, buffers, offset);
    if (now === length) return finished();
    if (now > 0) return step(after(buffers, now), offset + now);
    if (now === -EAGAIN || now === -EOPNOTSUPP) return step(buffers, offset);
    done(this.hostFailure(direction, now));
  }

  private getId(output: Uint8Array[]): Outcome {
    const target = output[0];
    if (!target) return [BlockStatus.IoError, 0];
    const id = new TextEncoder().encode(this.image.serial).subarray(0, ID_BYTES);
    const bytes = Math.min(target.length, ID_BYTES);
    target.fill(0, 0, bytes).set(id.subarray(0, bytes));
    return [BlockStatus.Ok, bytes];
  }

  private deallocateOrFail(request: Request): Outcome {
    try {
      return this.deallocate(request);
    } catch (error) {
      return this.hostFailure(request.type === BlockRequest.Discard ? 'discard' : 'write-zeroes', error);
    }
  }

  /** Discard punches holes; write-zeroes zeroes the ranges (punching them when the guest allows unmap). */
  private deallocate(request: Request): Outcome {
    if (!this.image.discard) return [BlockStatus.Unsupported, 0];
    const length = totalLength(request.input);
    if (length === 0 || length % SEGMENT_SIZE !== 0 || length / SEGMENT_SIZE > MAX_RANGES) return [BlockStatus.IoError, 0];
    const segments = new DataView((gather(request.input, length) as Uint8Array).buffer);
    const zeroes = request.type === BlockRequest.WriteZeroes;
    const ranges: Array<[offset: number, length: number, mode: number]> = [];
    for (let at = 0; at < length; at += SEGMENT_SIZE) {
      const sector = segments.getBigUint64(at, true);
      const count = segments.getUint32(at + 8, true);
      const flags = segments.getUint32(at + 12, true);
      if (flags & ~(zeroes ? WRITE_ZEROES_UNMAP : 0)) return [BlockStatus.Unsupported, 0];
      if (count > MAX_RANGE_SECTORS) return [BlockStatus.IoError, 0];
      const offset = this.offsetOf(sector, count * SECTOR_SIZE);
      if (offset === undefined) return [BlockStatus.IoError, 0];
      const punch = !zeroes || (flags & WRITE_ZEROES_UNMAP) !== 0;
      ranges.push([offset, count * SECTOR_SIZE, FALLOC_FL_KEEP_SIZE | (punch ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE)]);
    }
    for (const [offset, bytes, mode] of ranges) if (bytes > 0) this.fallocate(offset, bytes, mode);
    if (zeroes) this.stats.write_zeroes_ops++;
    else this.stats.discard_ops++;
    return [BlockStatus.Ok, 0];
  }

  /** ZERO_RANGE is missing on some file systems; a punched hole reads as zeroes too. */
  private fallocate(offset: number, length: number, mode: number): void {
    try {
      native.fallocate(this.image.fd, mode, offset, length);
    } catch (error) {
      if (!(mode & FALLOC_FL_ZERO_RANGE)) throw error;
      native.fallocate(this.image.fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, offset, length);
    }
  }

  /** A host call failed: counted with its errno, logged at a bounded rate, an I/O error for the guest. */
  private hostFailure(what: string, failure: unknown): Outcome {
    const errno = typeof failure === 'number' ? -failure : Math.abs((failure as NodeJS.ErrnoException | null)?.errno ?? 0);
    this.failures.io_errors++;
    if (errno > 0) this.failures.last_errno = errno;
    this.failureLog.warn(`virtio-blk ${this.id}: ${what} failed${errno > 0 ? ` (errno ${errno})` : ''}`);
    return [BlockStatus.IoError, 0];
  }

  private recordLatency(type: number, started: bigint): void {
    const stats = type === BlockRequest.In ? this.latency.read : type === BlockRequest.Out ? this.latency.write : undefined;
    stats?.record(Number((process.hrtime.bigint() - started) / 1000n));
  }

  counters(): Record<string, number> {
    return { ...this.stats, ...this.latency.read.counters('read'), ...this.latency.write.counters('write'), ...this.failures };
  }

  reset(): void {
    this.queues = undefined;
  }

  async quiesce(): Promise<void> {
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
  }

  /** Takes the image's writer lock (a read-only image needs none); false when another writer holds it. */
  lockImage(): boolean {
    return this.image.readonly || native.tryLockFd(this.image.fd);
  }

  /** Lets another process take the writer lock: a migration's destination, once this VM is paused for good. */
  unlockImage(): void {
    if (!this.image.readonly) native.unlockFd(this.image.fd);
  }

  /** Waits for requests in flight (they write guest memory), then closes the image and its lock; once. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.reset();
      await this.quiesce();
      await closeFd(this.image.fd);
    })();
    return this.closed;
  }
}

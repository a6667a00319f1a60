// virtio-blk (virtio 1.2, section 5.2) over a raw image. A request is a
// 16-byte header (type, reserved, sector), data buffers, and a one-byte
// status the device writes last. Sector ranges are checked against the
// capacity; data moves between the image and guest memory directly.
import { closeSync, fdatasyncSync, readSync, writeSync } from 'node:fs';
import type { DescriptorChain } from './queue.js';
import { VirtioDeviceId, type VirtioDevice } from './device.js';

export const SECTOR_SIZE = 512;
const HEADER_SIZE = 16;
const ID_BYTES = 20;

export const BlockRequest = { In: 0, Out: 1, Flush: 4, GetId: 8 } as const;
export const BlockStatus = { Ok: 0, IoError: 1, Unsupported: 2 } as const;
export const VIRTIO_BLK_F_RO = 5;
export const VIRTIO_BLK_F_FLUSH = 9;

export interface BlockImage {
  fd: number;
  /** Bytes; a partial last sector is not exposed. */
  size: number;
  readonly: boolean;
  /** The serial reported by GET_ID (at most 20 bytes are used). */
  serial: string;
}

/** The bytes of `buffers` from `skip` on, as a list of views. */
function after(buffers: Uint8Array[], skip: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let remaining = skip;
  for (const buffer of buffers) {
    if (remaining >= buffer.length) {
      remaining -= buffer.length;
      continue;
    }
    out.push(buffer.subarray(remaining));
    remaining = 0;
  }
  return out;
}

function gather(buffers: Uint8Array[], length: number): Uint8Array | undefined {
  const out = new Uint8Array(length);
  let filled = 0;
  for (const buffer of buffers) {
    const take = Math.min(buffer.length, length - filled);
    out.set(buffer.subarray(0, take), filled);
    filled += take;
    if (filled === length) return out;
  }
  return undefined;
}

export class VirtioBlock implements VirtioDevice {
  readonly deviceId = VirtioDeviceId.Block;
  readonly features: bigint;
  readonly queueSizes = [256];
  readonly config: Uint8Array;
  private readonly sectors: bigint;
  private readonly stats = { read_bytes: 0, write_bytes: 0, read_ops: 0, write_ops: 0 };

  constructor(readonly id: string, private readonly image: BlockImage) {
    this.sectors = BigInt(Math.floor(image.size / SECTOR_SIZE));
    this.features = (1n << BigInt(VIRTIO_BLK_F_FLUSH)) | (image.readonly ? 1n << BigInt(VIRTIO_BLK_F_RO) : 0n);
    this.config = new Uint8Array(8);
    new DataView(this.config.buffer).setBigUint64(0, this.sectors, true);
  }

  handle(_queue: number, chain: DescriptorChain): number {
    const statusBuffer = chain.writable[chain.writable.length - 1];
    if (!statusBuffer || statusBuffer.length === 0) return 0; // nowhere to say anything: drop it
    const status = statusBuffer.subarray(statusBuffer.length - 1);
    const data = chain.writable.slice(0, -1);
    if (statusBuffer.length > 1) data.push(statusBuffer.subarray(0, statusBuffer.length - 1));
    const header = gather(chain.readable, HEADER_SIZE);
    if (!header) {
      status[0] = BlockStatus.IoError;
      return 1;
    }
    const view = new DataView(header.buffer);
    const type = view.getUint32(0, true);
    const sector = view.getBigUint64(8, true);
    const [code, written] = this.execute(type, sector, after(chain.readable, HEADER_SIZE), data);
    status[0] = code;
    return written + 1;
  }

  /** Returns the status and how many data bytes were written into guest buffers. */
  private execute(type: number, sector: bigint, input: Uint8Array[], output: Uint8Array[]): [number, number] {
    try {
      switch (type) {
        case BlockRequest.In: return this.transfer(sector, output, 'read');
        case BlockRequest.Out:
          if (this.image.readonly) return [BlockStatus.IoError, 0];
          return this.transfer(sector, input, 'write');
        case BlockRequest.Flush:
          if (!this.image.readonly) fdatasyncSync(this.image.fd);
          return [BlockStatus.Ok, 0];
        case BlockRequest.GetId: {
          const id = new TextEncoder().encode(this.image.serial).subarray(0, ID_BYTES);
          const target = output[0];
          if (!target) return [BlockStatus.IoError, 0];
          const bytes = Math.min(target.length, ID_BYTES);
          target.fill(0, 0, bytes).set(id.subarray(0, bytes));
          return [BlockStatus.Ok, bytes];
        }
        default: return [BlockStatus.Unsupported, 0];
      }
    } catch {
      return [BlockStatus.IoError, 0];
    }
  }

  private transfer(sector: bigint, buffers: Uint8Array[], direction: 'read' | 'write'): [number, number] {
    const length = buffers.reduce((sum, b) => sum + b.length, 0);
    if (length % SECTOR_SIZE !== 0) return [BlockStatus.IoError, 0];
    if (sector > this.sectors || BigInt(length / SECTOR_SIZE) > this.sectors - sector) return [BlockStatus.IoError, 0];
    let position = Number(sector) * SECTOR_SIZE;
    for (const buffer of buffers) {
      let done = 0;
      while (done < buffer.length) {
        const n = direction === 'read'
          ? readSync(this.image.fd, buffer, done, buffer.length - done, position + done)
          : writeSync(this.image.fd, buffer, done, buffer.length - done, position + done);
        if (n === 0) return [BlockStatus.IoError, 0];
        done += n;
      }
      position += buffer.length;
    }
    if (direction === 'read') {
      this.stats.read_bytes += length;
      this.stats.read_ops++;
    } else {
      this.stats.write_bytes += length;
      this.stats.write_ops++;
    }
    return [BlockStatus.Ok, direction === 'read' ? length : 0];
  }

  counters(): Record<string, number> {
    return { ...this.stats };
  }

  reset(): void {}

  /** Closing the image also releases its lock. */
  close(): void {
    closeSync(this.image.fd);
  }
}

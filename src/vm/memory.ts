// Guest RAM: one anonymous mapping split into regions around the MMIO gap.
// Every access the guest can steer goes through `slice`, which refuses any
// range that is not wholly inside one region.
import { native } from '../native.js';
import { GiB, MMIO_GAP_END, MMIO_GAP_START } from '../arch/x86_64/layout.js';

/** Kept below Node's 4 GiB cap on one ArrayBuffer. */
const MAX_REGION = 2 * GiB;

export interface MemoryRegionLayout {
  guestAddress: number;
  hostOffset: number;
  size: number;
}

/** What a thread needs to attach to the same guest memory. */
export interface GuestMemoryLayout {
  memoryId: number;
  size: number;
  regions: MemoryRegionLayout[];
}

/** The guest named memory it does not have. */
export class GuestMemoryError extends Error {
  override readonly name = 'GuestMemoryError';
}

interface Region extends MemoryRegionLayout {
  bytes: Uint8Array;
  view: DataView;
  halfwords: Uint16Array;
}

/** Splits `size` bytes of RAM into regions below and above the MMIO gap. */
export function planRegions(size: number): MemoryRegionLayout[] {
  const regions: MemoryRegionLayout[] = [];
  let hostOffset = 0;
  const add = (guestStart: number, length: number): void => {
    for (let done = 0; done < length; done += MAX_REGION) {
      const chunk = Math.min(MAX_REGION, length - done);
      regions.push({ guestAddress: guestStart + done, hostOffset, size: chunk });
      hostOffset += chunk;
    }
  };
  const low = Math.min(size, MMIO_GAP_START);
  add(0, low);
  if (size > low) add(MMIO_GAP_END, size - low);
  return regions;
}

const PAGE = 4096;

export class GuestMemory {
  readonly layout: GuestMemoryLayout;
  private readonly regions: Region[];
  /**
   * While a migration runs: one byte per page (by mapping offset) the VMM's
   * own devices wrote, which KVM's dirty log does not see.
   */
  private written: Uint8Array | undefined;

  private constructor(layout: GuestMemoryLayout, buffers: ArrayBuffer[]) {
    this.layout = layout;
    this.regions = layout.regions.map((region, i) => {
      const buffer = buffers[i] as ArrayBuffer;
      return {
        ...region, bytes: new Uint8Array(buffer), view: new DataView(buffer), halfwords: new Uint16Array(buffer),
      };
    });
  }

  /** Maps guest RAM through the addon, ready for KVM memory slots. */
  static allocate(size: number): GuestMemory {
    const memoryId = native.mapGuestMemory(size);
    return GuestMemory.attach({ memoryId, size, regions: planRegions(size) });
  }

  /** Guest memory mapped copy-on-write from a file laid out as the mapping is (a snapshot's memory). */
  static mapFile(fd: number, size: number): GuestMemory {
    const memoryId = native.mapGuestMemoryFile(fd, size);
    return GuestMemory.attach({ memoryId, size, regions: planRegions(size) });
  }

  /** Wraps memory allocated by another thread of this process. */
  static attach(layout: GuestMemoryLayout): GuestMemory {
    const buffers = layout.regions.map((region) =>
      native.guestMemoryBuffer(layout.memoryId, region.hostOffset, region.size));
    return new GuestMemory(layout, buffers);
  }

  /** Plain JavaScript memory with the same layout, for tests of boot code. */
  static detached(size: number): GuestMemory {
    const regions = planRegions(size);
    return new GuestMemory({ memoryId: 0, size, regions }, regions.map((r) => new ArrayBuffer(r.size)));
  }

  /** Releases the mapping; no thread may touch this memory afterwards. */
  free(): void {
    if (this.layout.memoryId !== 0) native.unmapGuestMemory(this.layout.memoryId);
  }

  /**
   * Bytes of the mapping by their offset in it (not by guest address): what
   * a snapshot's memory file holds at the same offset. The range must lie in
   * one region.
   */
  mappingBytes(offset: number, length: number): Uint8Array {
    const region = this.regions.find((r) => offset >= r.hostOffset && offset + length <= r.hostOffset + r.size);
    if (!region) throw new GuestMemoryError(`mapping range 0x${offset.toString(16)}+0x${length.toString(16)} is not within one region`);
    return region.bytes.subarray(offset - region.hostOffset, offset - region.hostOffset + length);
  }

  /** Starts (or stops) recording the pages the VMM writes: see `markWritten`. */
  trackWrites(on: boolean): void {
    this.written = on ? new Uint8Array(Math.ceil(this.layout.size / PAGE)) : undefined;
  }

  get tracksWrites(): boolean {
    return this.written !== undefined;
  }

  /** Records that the VMM wrote into `view`, a view `slice` returned. */
  markWritten(view: Uint8Array): void {
    if (!this.written || view.length === 0) return;
    const region = this.regions.find((r) => r.bytes.buffer === view.buffer);
    if (region) this.markMappingRange(region.hostOffset + view.byteOffset - region.bytes.byteOffset, view.length);
  }

  /** Records that the VMM wrote guest bytes [address, address + length). */
  markWrittenAt(address: number, length: number): void {
    if (!this.written) return;
    const region = this.find(address, length);
    if (region) this.markMappingRange(region.hostOffset + address - region.guestAddress, length);
  }

  /** The pages written since the last call (one byte per page, 1 = written); recording goes on. */
  takeWrittenPages(): Uint8Array {
    const pages = this.written ?? new Uint8Array(Math.ceil(this.layout.size / PAGE));
    if (this.written) this.written = new Uint8Array(pages.length);
    return pages;
  }

  private markMappingRange(offset: number, length: number): void {
    const written = this.written as Uint8Array;
    written.fill(1, Math.floor(offset / PAGE), Math.ceil((offset + length) / PAGE));
  }

  /** End of RAM below the MMIO gap. */
  get lowMemoryEnd(): number {
    return Math.min(this.layout.size, MMIO_GAP_START);
  }

  private find(address: number, length: number): Region | undefined {
    if (!Number.isSafeInteger(address) || !Number.isSafeInteger(length) || address < 0 || length < 0) {
      return undefined;
    }
    for (const region of this.regions) {
      if (address >= region.guestAddress && address + length <= region.guestAddress + region.size) return region;
    }
    return undefined;
  }

  contains(address: number, length: number): boolean {
    return this.find(address, length) !== undefined;
  }

  /** A view of guest memory; throws GuestMemoryError when out of RAM. */
  slice(address: number, length: number): Uint8Array {
    const region = this.find(address, length);
    if (!region) {
      throw new GuestMemoryError(`guest range 0x${address.toString(16)}+0x${length.toString(16)} is outside RAM`);
    }
    const start = address - region.guestAddress;
    return region.bytes.subarray(start, start + length);
  }

  write(address: number, data: Uint8Array): void {
    this.slice(address, data.length).set(data);
  }

  private dataView(address: number, length: number): [DataView, number] {
    const region = this.find(address, length);
    if (!region) {
      throw new GuestMemoryError(`guest range 0x${address.toString(16)}+0x${length.toString(16)} is outside RAM`);
    }
    return [region.view, address - region.guestAddress];
  }

  readU16(address: number): number {
    const [view, offset] = this.dataView(address, 2);
    return view.getUint16(offset, true);
  }

  readU32(address: number): number {
    const [view, offset] = this.dataView(address, 4);
    return view.getUint32(offset, true);
  }

  readU64(address: number): bigint {
    const [view, offset] = this.dataView(address, 8);
    return view.getBigUint64(offset, true);
  }

  writeU16(address: number, value: number): void {
    const [view, offset] = this.dataView(address, 2);
    view.setUint16(offset, value, true);
  }

  writeU32(address: number, value: number): void {
    const [view, offset] = this.dataView(address, 4);
    view.setUint32(offset, value, true);
  }

  /**
   * Sequentially consistent 16-bit access, for indices another agent (the
   * guest's driver) updates concurrently. The address must be even.
   */
  loadU16Atomic(address: number): number {
    const [halfwords, index] = this.halfwordSlot(address);
    return Atomics.load(halfwords, index);
  }

  storeU16Atomic(address: number, value: number): void {
    const [halfwords, index] = this.halfwordSlot(address);
    Atomics.store(halfwords, index, value);
  }

  private halfwordSlot(address: number): [Uint16Array, number] {
    if (address % 2 !== 0) throw new GuestMemoryError(`guest address 0x${address.toString(16)} is not 2-byte aligned`);
    const region = this.find(address, 2);
    if (!region) throw new GuestMemoryError(`guest range 0x${address.toString(16)}+0x2 is outside RAM`);
    return [region.halfwords, (address - region.guestAddress) / 2];
  }

  writeU64(address: number, value: bigint): void {
    const [view, offset] = this.dataView(address, 8);
    view.setBigUint64(offset, value, true);
  }
}

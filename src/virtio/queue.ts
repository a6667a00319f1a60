// A split virtqueue (virtio 1.2, section 2.7), device side. Everything in
// the rings and descriptor tables is written by the guest and checked here:
// addresses and lengths against guest RAM, indices against the queue size,
// chains against loops and against the queue size, the order of readable
// and writable buffers, and indirect tables. A violation throws QueueError;
// the device then marks itself NEEDS_RESET and the VMM carries on.
import { GuestMemoryError, type GuestMemory } from '../vm/memory.js';

export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
export const VIRTQ_USED_F_NO_NOTIFY = 1;
export const MAX_QUEUE_SIZE = 32768;
const DESCRIPTOR_SIZE = 16;
const USED_ELEMENT_SIZE = 8;

/** The guest broke the virtqueue rules; the device needs a reset. */
export class QueueError extends Error {
  override readonly name = 'QueueError';
}

export interface QueueLayout {
  size: number;
  descriptorTable: number;
  availableRing: number;
  usedRing: number;
  /** VIRTIO_F_RING_EVENT_IDX was negotiated. */
  eventIndex: boolean;
}

/** One request: its device-readable buffers, then its device-writable ones. */
export interface DescriptorChain {
  head: number;
  readable: Uint8Array[];
  writable: Uint8Array[];
  readableLength: number;
  writableLength: number;
}

interface Descriptor {
  address: number;
  length: number;
  flags: number;
  next: number;
}

export function isValidQueueSize(size: number): boolean {
  return Number.isInteger(size) && size > 0 && size <= MAX_QUEUE_SIZE && (size & (size - 1)) === 0;
}

/** Checks a queue's rings lie in RAM with the alignment the spec requires. */
export function checkQueueLayout(memory: GuestMemory, layout: QueueLayout): void {
  const { size } = layout;
  if (!isValidQueueSize(size)) throw new QueueError(`queue size ${size} is not a power of 2 up to ${MAX_QUEUE_SIZE}`);
  const rings: Array<[string, number, number, number]> = [
    ['descriptor table', layout.descriptorTable, DESCRIPTOR_SIZE * size, 16],
    ['available ring', layout.availableRing, 6 + 2 * size, 2],
    ['used ring', layout.usedRing, 6 + USED_ELEMENT_SIZE * size, 4],
  ];
  for (const [name, address, length, alignment] of rings) {
    if (address % alignment !== 0) throw new QueueError(`${name} at 0x${address.toString(16)} is not ${alignment}-byte aligned`);
    if (!memory.contains(address, length)) throw new QueueError(`${name} at 0x${address.toString(16)} is outside guest RAM`);
  }
}

/** Where the device is in a queue's rings: all a snapshot needs besides guest memory. */
export interface QueueIndices {
  lastAvailable: number;
  usedIndex: number;
  lastSignalledUsed: number;
}

export class SplitQueue {
  /** The next available-ring slot the device will read. */
  private lastAvailable = 0;
  /** The used index the device publishes next. */
  private usedIndex = 0;
  /** The used index when the guest was last interrupted (for EVENT_IDX). */
  private lastSignalledUsed = 0;
  /** By head, the writable buffers of chains taken and not yet used: a migration resends them once used. */
  private readonly inFlight: Array<Uint8Array[] | undefined> = [];

  constructor(private readonly memory: GuestMemory, readonly layout: QueueLayout) {
    checkQueueLayout(memory, layout);
  }

  private get size(): number {
    return this.layout.size;
  }

  get indices(): QueueIndices {
    return { lastAvailable: this.lastAvailable, usedIndex: this.usedIndex, lastSignalledUsed: this.lastSignalledUsed };
  }

  /** Continues where a snapshot left the queue (each index is taken modulo 2^16). */
  restoreIndices(indices: QueueIndices): void {
    this.lastAvailable = indices.lastAvailable & 0xffff;
    this.usedIndex = indices.usedIndex & 0xffff;
    this.lastSignalledUsed = indices.lastSignalledUsed & 0xffff;
  }

  /** Takes the next available chain, or undefined when the guest has offered none. */
  pop(): DescriptorChain | undefined {
    const availableIndex = this.memory.loadU16Atomic(this.layout.availableRing + 2);
    const pending = (availableIndex - this.lastAvailable) & 0xffff;
    if (pending === 0) return undefined;
    if (pending > this.size) {
      throw new QueueError(`available index ${availableIndex} is ${pending} entries ahead of the device; the queue has ${this.size}`);
    }
    const slot = this.lastAvailable % this.size;
    const head = this.memory.readU16(this.layout.availableRing + 4 + 2 * slot);
    this.lastAvailable = (this.lastAvailable + 1) & 0xffff;
    if (this.layout.eventIndex) this.publishAvailableEvent();
    const chain = this.walk(head);
    if (chain.writable.length > 0) this.inFlight[head] = chain.writable;
    return chain;
  }

  /**
   * Gives back chains taken but not yet used, so the next pop sees them
   * again. The published avail_event stays where the last pop put it, so
   * the driver's next addition still notifies.
   */
  unpop(count: number): void {
    this.lastAvailable = (this.lastAvailable - count) & 0xffff;
  }

  /** Returns a chain to the guest, saying how many bytes the device wrote. */
  pushUsed(head: number, writtenLength: number): void {
    const element = this.layout.usedRing + 4 + USED_ELEMENT_SIZE * (this.usedIndex % this.size);
    this.memory.writeU32(element, head);
    this.memory.writeU32(element + 4, writtenLength);
    this.usedIndex = (this.usedIndex + 1) & 0xffff;
    this.memory.storeU16Atomic(this.layout.usedRing + 2, this.usedIndex);
    const written = this.inFlight[head];
    this.inFlight[head] = undefined;
    if (this.memory.tracksWrites) this.markUsed(element, written);
  }

  /** A migration must resend what the device wrote: the chain's buffers and the used ring. */
  private markUsed(element: number, written: Uint8Array[] | undefined): void {
    for (const view of written ?? []) this.memory.markWritten(view);
    this.memory.markWrittenAt(element, USED_ELEMENT_SIZE);
    this.memory.markWrittenAt(this.layout.usedRing + 2, 2);
  }

  /** Whether the guest wants an interrupt for what was pushed since the last one. */
  needsInterrupt(): boolean {
    const previous = this.lastSignalledUsed;
    this.lastSignalledUsed = this.usedIndex;
    if (previous === this.usedIndex) return false;
    if (!this.layout.eventIndex) {
      return (this.memory.loadU16Atomic(this.layout.availableRing) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
    }
    const usedEvent = this.memory.loadU16Atomic(this.layout.availableRing + 4 + 2 * this.size);
    // The spec's vring_need_event(): was used_event crossed by this batch?
    return ((this.usedIndex - usedEvent - 1) & 0xffff) < ((this.usedIndex - previous) & 0xffff);
  }

  /** With EVENT_IDX, asks the guest to notify when it adds past what was taken. */
  private publishAvailableEvent(): void {
    const at = this.layout.usedRing + 4 + USED_ELEMENT_SIZE * this.size;
    this.memory.storeU16Atomic(at, this.lastAvailable);
    this.memory.markWrittenAt(at, 2);
  }

  private readDescriptor(table: number, index: number): Descriptor {
    const at = table + DESCRIPTOR_SIZE * index;
    const address = this.memory.readU64(at);
    if (address > BigInt(Number.MAX_SAFE_INTEGER)) throw new QueueError(`descriptor ${index} address is out of range`);
    return {
      address: Number(address),
      length: this.memory.readU32(at + 8),
      flags: this.memory.readU16(at + 12),
      next: this.memory.readU16(at + 14),
    };
  }

  private buffer(descriptor: Descriptor, index: number): Uint8Array {
    try {
      return this.memory.slice(descriptor.address, descriptor.length);
    } catch (error) {
      if (error instanceof GuestMemoryError) {
        throw new QueueError(`descriptor ${index} (0x${descriptor.address.toString(16)}+${descriptor.length}) is outside guest RAM`);
      }
      throw error;
    }
  }

  /** Follows a chain from `head`, through at most one indirect table. */
  private walk(head: number): DescriptorChain {
    if (head >= this.size) throw new QueueError(`available ring names descriptor ${head}; the queue has ${this.size}`);
    const chain: DescriptorChain = { head, readable: [], writable: [], readableLength: 0, writableLength: 0 };
    let table = this.layout.descriptorTable;
    let tableSize = this.size;
    let index = head;
    let indirect = false;
    // A chain longer than its table is forbidden, so a longer walk means a loop.
    for (let steps = 0; ; steps++) {
      if (steps >= tableSize) throw new QueueError(`descriptor chain from ${head} is longer than its table (a loop?)`);
      const descriptor = this.readDescriptor(table, index);
      if (descriptor.flags & VIRTQ_DESC_F_INDIRECT) {
        if (indirect) throw new QueueError(`descriptor ${index} is an indirect table inside an indirect table`);
        if (descriptor.flags & VIRTQ_DESC_F_NEXT) throw new QueueError(`indirect descriptor ${index} also has NEXT set`);
        if (descriptor.length === 0 || descriptor.length % DESCRIPTOR_SIZE !== 0) {
          throw new QueueError(`indirect table of descriptor ${index} has length ${descriptor.length}, not a multiple of 16`);
        }
        this.buffer(descriptor, index);
        table = descriptor.address;
        tableSize = descriptor.length / DESCRIPTOR_SIZE;
        if (tableSize > this.size) throw new QueueError(`indirect table of descriptor ${index} is longer than the queue`);
        index = 0;
        indirect = true;
        steps = -1;
        continue;
      }
      this.addBuffer(chain, descriptor, index);
      if (!(descriptor.flags & VIRTQ_DESC_F_NEXT)) return chain;
      if (descriptor.next >= tableSize) throw new QueueError(`descriptor ${index} points at ${descriptor.next}, beyond its table of ${tableSize}`);
      index = descriptor.next;
    }
  }

  private addBuffer(chain: DescriptorChain, descriptor: Descriptor, index: number): void {
    const data = this.buffer(descriptor, index);
    if (descriptor.flags & VIRTQ_DESC_F_WRITE) {
      chain.writable.push(data);
      chain.writableLength += data.length;
    } else {
      if (chain.writable.length > 0) throw new QueueError(`descriptor ${index} is device-readable after a device-writable one`);
      chain.readable.push(data);
      chain.readableLength += data.length;
    }
    if (chain.readableLength + chain.writableLength > 0xffff_ffff) {
      throw new QueueError(`descriptor chain from ${chain.head} is longer than 4 GiB`);
    }
  }
}

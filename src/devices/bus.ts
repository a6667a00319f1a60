// The port I/O and MMIO buses: address ranges mapped to devices. A vCPU
// exit is dispatched here, so the lookup is one table read: the table has an
// entry per unit (a port; an MMIO page) that a device covers. An address no
// device claims reads as all ones and ignores writes. A device that throws
// on a guest access is contained here: the access reads as all ones (or is
// dropped), the device is told (a virtio device then needs a reset), the
// fault is logged at a bounded rate and counted, and the VM runs on.
import { errorMessage } from '../util/errors.js';
import { enabled } from '../util/log.js';
import { RateLimitedLog } from '../util/rate-limit.js';

export interface BusDevice {
  /** `offset` is relative to the device's base; `size` is 1, 2, 4 or 8. */
  read(offset: number, size: number): number;
  write(offset: number, size: number, value: number): void;
  /** A read or write threw; the device puts itself in a state the guest can see and recover from. */
  fault?(error: unknown): void;
}

interface Mapping {
  base: number;
  /** The units (ports; MMIO pages) the device covers: [firstUnit, endUnit). */
  firstUnit: number;
  endUnit: number;
  device: BusDevice;
}

export class Bus {
  /** Unit number (address / unit) to the device covering it. */
  private readonly table = new Map<number, Mapping>();
  private last: Mapping | undefined;
  private readonly faultLog = new RateLimitedLog();
  /** Linux writes port 0x80 to pause, so a -vv log would otherwise get a line for most exits. */
  private readonly unclaimedLog = new RateLimitedLog();
  /** Guest accesses a device failed on. */
  faults = 0;

  /** `unit`: the granularity of the table (1 for ports, 4096 for MMIO pages); every range is aligned to it. */
  constructor(private readonly name: string, readonly unit = 1) {}

  register(base: number, length: number, device: BusDevice): void {
    const range = `${this.name} range 0x${base.toString(16)}+${length}`;
    if (length <= 0 || base % this.unit !== 0 || length % this.unit !== 0) {
      throw new Error(`${range} is not made of whole ${this.unit}-byte units`);
    }
    const firstUnit = asSmallInteger(base / this.unit);
    const endUnit = asSmallInteger((base + length) / this.unit);
    for (let unit = firstUnit; unit < endUnit; unit++) {
      const overlap = this.table.get(unit);
      if (overlap) throw new Error(`${range} overlaps one at 0x${overlap.base.toString(16)}`);
    }
    const mapping = { base, firstUnit, endUnit, device };
    for (let unit = firstUnit; unit < endUnit; unit++) this.table.set(unit, mapping);
  }

  private find(unit: number): Mapping | undefined {
    // A vCPU's exits mostly go to the device of its last exit: one compare before the table.
    const last = this.last;
    if (last !== undefined && unit >= last.firstUnit && unit < last.endUnit) return last;
    const found = this.table.get(unit);
    if (found !== undefined) this.last = found;
    return found;
  }

  read(address: number, size: number): number {
    return this.readAt(Math.floor(address / this.unit), address % this.unit, size);
  }

  write(address: number, size: number, value: number): void {
    this.writeAt(Math.floor(address / this.unit), address % this.unit, size, value);
  }

  /**
   * An access at `offset` inside unit number `unit`: the exit dispatch splits
   * the address itself, so that the lookup and the device's offset stay small
   * integers even for MMIO addresses above 2 GiB.
   */
  readAt(unit: number, offset: number, size: number): number {
    const mapping = this.find(unit);
    if (mapping === undefined) return this.unclaimed('read', unit, offset, size);
    try {
      return mapping.device.read((unit - mapping.firstUnit) * this.unit + offset, size);
    } catch (error) {
      this.contain(mapping, 'read', unit, offset, size, error);
      return allOnes(size);
    }
  }

  writeAt(unit: number, offset: number, size: number, value: number): void {
    const mapping = this.find(unit);
    if (mapping === undefined) {
      this.unclaimed('write', unit, offset, size, value);
      return;
    }
    try {
      mapping.device.write((unit - mapping.firstUnit) * this.unit + offset, size, value);
    } catch (error) {
      this.contain(mapping, 'write', unit, offset, size, error);
    }
  }

  // The cold paths stay out of readAt and writeAt, which V8 then inlines into the exit dispatch.
  private unclaimed(access: 'read' | 'write', unit: number, offset: number, size: number, value?: number): number {
    if (enabled('debug')) {
      this.unclaimedLog.debug(() => {
        const written = value === undefined ? '' : `: 0x${value.toString(16)}`;
        return `${this.name}: unclaimed ${access} of ${size} at 0x${this.addressOf(unit, offset).toString(16)}${written}`;
      });
    }
    return allOnes(size);
  }

  private addressOf(unit: number, offset: number): number {
    return unit * this.unit + offset;
  }

  private contain(mapping: Mapping, access: 'read' | 'write', unit: number, offset: number, size: number, error: unknown): void {
    this.faults++;
    try {
      mapping.device.fault?.(error);
    } catch {
      // The device cannot even record its fault; the access is still contained.
    }
    const what = `${access} of ${size} at 0x${this.addressOf(unit, offset).toString(16)}`;
    this.faultLog.warn(`${this.name}: the device at 0x${mapping.base.toString(16)} failed on a guest ${what}: ${errorMessage(error)}`);
  }
}

/**
 * A quotient V8 would keep as a heap number (its dividend was one) made a
 * small integer where it fits, so that the exit path's unit compares stay
 * integer arithmetic.
 */
function asSmallInteger(n: number): number {
  return n <= 0x7fff_ffff ? n | 0 : n;
}

function allOnes(size: number): number {
  return size >= 4 ? 0xffff_ffff : (1 << (size * 8)) - 1;
}

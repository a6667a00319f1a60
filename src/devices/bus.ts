// The port I/O and MMIO buses: address ranges mapped to devices. A vCPU
// exit is dispatched here, so the lookup is one table read: the table has an
// entry per unit (a port; an MMIO page) that a device covers. An address no
// device claims reads as all ones and ignores writes. A device that throws
// on a guest access is contained here: the access reads as all ones (or is
// dropped), the device is told (a virtio device then needs a reset), the
// fault is logged at a bounded rate and counted, and the VM runs on.
import { errorMessage } from '../util/errors.js';
import { enabled, log } from '../util/log.js';
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
  length: number;
  device: BusDevice;
}

export class Bus {
  /** Unit number (address / unit) to the device covering it. */
  private readonly table = new Map<number, Mapping>();
  private last: Mapping | undefined;
  private readonly faultLog = new RateLimitedLog();
  /** Guest accesses a device failed on. */
  faults = 0;

  /** `unit`: the granularity of the table (1 for ports, 4096 for MMIO pages); every range is aligned to it. */
  constructor(private readonly name: string, private readonly unit = 1) {}

  register(base: number, length: number, device: BusDevice): void {
    const range = `${this.name} range 0x${base.toString(16)}+${length}`;
    if (length <= 0 || base % this.unit !== 0 || length % this.unit !== 0) {
      throw new Error(`${range} is not made of whole ${this.unit}-byte units`);
    }
    const first = base / this.unit;
    const end = (base + length) / this.unit;
    for (let unit = first; unit < end; unit++) {
      const overlap = this.table.get(unit);
      if (overlap) throw new Error(`${range} overlaps one at 0x${overlap.base.toString(16)}`);
    }
    const mapping = { base, length, device };
    for (let unit = first; unit < end; unit++) this.table.set(unit, mapping);
  }

  private find(address: number): Mapping | undefined {
    // A vCPU's exits mostly go to the device of its last exit: one compare before the table.
    const last = this.last;
    if (last !== undefined && address >= last.base && address < last.base + last.length) return last;
    const found = this.table.get(Math.floor(address / this.unit));
    if (found !== undefined) this.last = found;
    return found;
  }

  read(address: number, size: number): number {
    const mapping = this.find(address);
    if (mapping) {
      try {
        return mapping.device.read(address - mapping.base, size);
      } catch (error) {
        this.contain(mapping, `read of ${size} at 0x${address.toString(16)}`, error);
        return allOnes(size);
      }
    }
    if (enabled('debug')) log.debug(`${this.name}: unclaimed read of ${size} at 0x${address.toString(16)}`);
    return allOnes(size);
  }

  write(address: number, size: number, value: number): void {
    const mapping = this.find(address);
    if (mapping) {
      try {
        mapping.device.write(address - mapping.base, size, value);
      } catch (error) {
        this.contain(mapping, `write of ${size} at 0x${address.toString(16)}`, error);
      }
      return;
    }
    if (enabled('debug')) {
      log.debug(`${this.name}: unclaimed write of ${size} at 0x${address.toString(16)}: 0x${value.toString(16)}`);
    }
  }

  private contain(mapping: Mapping, access: string, error: unknown): void {
    this.faults++;
    try {
      mapping.device.fault?.(error);
    } catch {
      // The device cannot even record its fault; the access is still contained.
    }
    this.faultLog.warn(`${this.name}: the device at 0x${mapping.base.toString(16)} failed on a guest ${access}: ${errorMessage(error)}`);
  }
}

function allOnes(size: number): number {
  return size >= 4 ? 0xffff_ffff : (1 << (size * 8)) - 1;
}

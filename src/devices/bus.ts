// The port I/O and MMIO buses: address ranges mapped to devices. A vCPU
// exit is dispatched here; an address no device claims reads as all ones
// and ignores writes.
import { enabled, log } from '../util/log.js';

export interface BusDevice {
  /** `offset` is relative to the device's base; `size` is 1, 2, 4 or 8. */
  read(offset: number, size: number): number;
  write(offset: number, size: number, value: number): void;
}

interface Mapping {
  base: number;
  length: number;
  device: BusDevice;
}

export class Bus {
  private readonly mappings: Mapping[] = [];

  constructor(private readonly name: string) {}

  register(base: number, length: number, device: BusDevice): void {
    const overlap = this.mappings.find((m) => base < m.base + m.length && m.base < base + length);
    if (overlap) {
      throw new Error(`${this.name} range 0x${base.toString(16)}+${length} overlaps one at 0x${overlap.base.toString(16)}`);
    }
    this.mappings.push({ base, length, device });
  }

  private find(address: number): Mapping | undefined {
    return this.mappings.find((m) => address >= m.base && address < m.base + m.length);
  }

  read(address: number, size: number): number {
    const mapping = this.find(address);
    if (mapping) return mapping.device.read(address - mapping.base, size);
    if (enabled('debug')) log.debug(`${this.name}: unclaimed read of ${size} at 0x${address.toString(16)}`);
    return size >= 4 ? 0xffff_ffff : (1 << (size * 8)) - 1;
  }

  write(address: number, size: number, value: number): void {
    const mapping = this.find(address);
    if (mapping) {
      mapping.device.write(address - mapping.base, size, value);
      return;
    }
    if (enabled('debug')) {
      log.debug(`${this.name}: unclaimed write of ${size} at 0x${address.toString(16)}: 0x${value.toString(16)}`);
    }
  }
}

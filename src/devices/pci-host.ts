// PCI configuration mechanism #1 at ports 0xcf8-0xcff, with nothing behind
// it but a host bridge at 00:00.0. tsvmm has no PCI devices (everything is
// virtio-mmio), but a distribution kernel built with PCI looks for a
// configuration access method and reports its absence as an error ("PCI:
// Fatal: No config space access function found"). With this it finds one, a
// bridge of class 0x0600 (which its sanity check accepts), and an empty bus.
//
// CONFIG_ADDRESS (0xcf8, 32-bit only): bit 31 enables, bits 23-16 bus,
// 15-11 device, 10-8 function, 7-2 register. CONFIG_DATA (0xcfc-0xcff) reads
// the addressed bytes, all ones where no function is; writes are ignored
// (the bridge has no writable register). The address is one register for
// the whole VM, so it lives in shared memory.
import type { BusDevice } from './bus.js';
import { readConfigSpace } from './config-space.js';
import { SharedRegisters } from './shared-registers.js';

export const PCI_CONFIG_PORT = 0xcf8;
export const PCI_CONFIG_PORT_COUNT = 8;
const DATA_OFFSET = 4;
const ENABLE = 0x8000_0000;
/** Bus, device, function and register of the address, without the enable bit. */
const SELECTOR_MASK = 0x00ff_fffc;

/** Cloud Hypervisor's host bridge IDs (Intel 0x0d57), class 06 00 00: a host bridge. */
const HOST_BRIDGE_CONFIG = (() => {
  const space = new Uint8Array(256); // the header, then device-specific registers that read 0
  const view = new DataView(space.buffer);
  view.setUint16(0x00, 0x8086, true); // vendor
  view.setUint16(0x02, 0x0d57, true); // device
  space[0x0b] = 0x06; // base class: bridge (subclass 0x00, host; programming interface 0x00)
  return space;
})();

const enum Slot { Address, Count }

export class PciHost extends SharedRegisters implements BusDevice {
  static createState(): SharedArrayBuffer {
    return SharedRegisters.allocate(Slot.Count);
  }

  constructor(buffer: SharedArrayBuffer) {
    super(buffer, Slot.Count);
  }

  read(offset: number, size: number): number {
    if (offset < DATA_OFFSET) return offset === 0 && size === 4 ? this.locked(() => this.get(Slot.Address)) : allOnes(size);
    const address = this.locked(() => this.get(Slot.Address));
    return configRead(address, offset - DATA_OFFSET, size);
  }

  write(offset: number, size: number, value: number): void {
    if (offset === 0 && size === 4) this.locked(() => this.set(Slot.Address, value >>> 0));
  }
}

function allOnes(size: number): number {
  return size >= 4 ? 0xffff_ffff : 2 ** (8 * size) - 1;
}

/** `size` bytes of the addressed function's register, `byte` bytes into it; all ones where nothing answers. */
export function configRead(address: number, byte: number, size: number): number {
  const none = allOnes(size);
  if (!(address & ENABLE) || (address & SELECTOR_MASK & ~0xff) !== 0) return none; // bus 0, 00.0 only
  const start = (address & 0xfc) + byte;
  if (start + size > HOST_BRIDGE_CONFIG.length) return none;
  return readConfigSpace(HOST_BRIDGE_CONFIG, start, size);
}

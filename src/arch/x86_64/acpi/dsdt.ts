// The DSDT: the devices a guest cannot find by probing. The legacy devices
// with an ACPI entry (COM1, the i8042's keyboard port, pvpanic:
// src/devices/legacy.ts), each virtio-mmio device (LNRO0005, its registers
// and its GSI), a power button (PNP0C0C) notified through a Generic Event
// Device (ACPI0013) whose interrupt the VMM raises, and \_S5 for power-off
// through the FADT's sleep control register.
import {
  arg0, concat, device, extendedInterrupt, ifThen, integer, ioPorts, isaIrq, lEqual, memory32Fixed, method, name,
  notify, packageOf, resourceTemplate, scope, string, type Aml,
} from './aml.js';
import { S5_SLEEP_TYPE } from '../layout.js';
import { sdt } from './tables.js';

/** A port I/O device: its name in the namespace, _HID, _UID, its I/O ranges and its ISA IRQ if it has one. */
export interface LegacyDsdtEntry {
  name: string;
  hid: string;
  uid: number;
  ranges: Array<{ port: number; count: number }>;
  irq?: number;
}

export interface DsdtInput {
  legacy: LegacyDsdtEntry[];
  virtio: Array<{ base: number; size: number; gsi: number }>;
  /** The GSI of the Generic Event Device; an edge on it presses the power button. */
  gedGsi: number;
}

const POWER_BUTTON_PRESSED = 0x80;

function legacyDevice(entry: LegacyDsdtEntry): Aml {
  return device(entry.name, [
    name('_HID', string(entry.hid)),
    name('_UID', integer(entry.uid)),
    name('_CRS', resourceTemplate([
      ...entry.ranges.map(({ port, count }) => ioPorts(port, count)),
      ...(entry.irq === undefined ? [] : [isaIrq(entry.irq)]),
    ])),
  ]);
}

function virtioDevice(index: number, base: number, size: number, gsi: number): Aml {
  return device(`VR${index.toString(16).toUpperCase().padStart(2, '0')}`, [
    name('_HID', string('LNRO0005')),
    name('_UID', integer(index)),
    name('_CCA', integer(1)),
    name('_CRS', resourceTemplate([
      memory32Fixed(base, size),
      // Edge: the interrupt leaves through an irqfd, which pulses the pin. A
      // level-triggered pin drops a pulse that comes while the last interrupt
      // is still in service (KVM's remote IRR), and the device then waited
      // for an acknowledgement that never came. As the MP table's ISA pins are.
      extendedInterrupt(gsi, { edge: true, activeLow: false, shared: false }),
    ])),
  ]);
}

function powerButton(gedGsi: number): Aml[] {
  return [
    device('PWRB', [name('_HID', string('PNP0C0C')), name('_UID', integer(0))]),
    device('GED0', [
      name('_HID', string('ACPI0013')),
      name('_UID', integer(0)),
      name('_CRS', resourceTemplate([extendedInterrupt(gedGsi, { edge: true, activeLow: false, shared: false })])),
      method('_EVT', 1, true, [ifThen(lEqual(arg0, integer(gedGsi)), [notify('\\_SB_.PWRB', POWER_BUTTON_PRESSED)])]),
    ]),
  ];
}

export function dsdtAml(input: DsdtInput): Aml {
  const devices = [
    ...input.legacy.map(legacyDevice),
    ...input.virtio.map((v, i) => virtioDevice(i, v.base, v.size, v.gsi)),
    ...powerButton(input.gedGsi),
  ];
  return concat([
    scope('\\_SB_', devices),
    name('_S5_', packageOf([integer(S5_SLEEP_TYPE), integer(0), integer(0), integer(0)])),
  ]);
}

export function dsdt(input: DsdtInput): Uint8Array {
  return sdt('DSDT', 2, dsdtAml(input));
}

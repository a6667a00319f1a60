// The DSDT: the devices a guest cannot find by probing. COM1, each
// virtio-mmio device (LNRO0005, its registers and its GSI), a power button
// (PNP0C0C) notified through a Generic Event Device (ACPI0013) whose
// interrupt the VMM raises, and \_S5 for power-off through the FADT's
// sleep control register, and a pvpanic device (QEMU0001) the guest
// reports a panic through.
import {
  arg0, concat, device, extendedInterrupt, ifThen, integer, ioPorts, isaIrq, lEqual, memory32Fixed, method, name,
  notify, packageOf, resourceTemplate, scope, string, type Aml,
} from './aml.js';
import { sdt } from './tables.js';

export interface DsdtInput {
  com1?: { port: number; irq: number };
  virtio: Array<{ base: number; size: number; gsi: number }>;
  /** The GSI of the Generic Event Device; an edge on it presses the power button. */
  gedGsi: number;
  /** The pvpanic device's port, when the VM has one. */
  pvpanicPort?: number;
}

/** SLP_TYP for S5 (soft off) in \_S5; the sleep control device powers off on it. */
export const S5_SLEEP_TYPE = 5;
const POWER_BUTTON_PRESSED = 0x80;

function com1(port: number, irq: number): Aml {
  return device('COM1', [
    name('_HID', string('PNP0501')),
    name('_UID', integer(1)),
    name('_CRS', resourceTemplate([ioPorts(port, 8), isaIrq(irq)])),
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

function pvpanic(port: number): Aml {
  return device('PEVT', [
    name('_HID', string('QEMU0001')),
    name('_UID', integer(0)),
    name('_CRS', resourceTemplate([ioPorts(port, 1)])),
  ]);
}

export function dsdtAml(input: DsdtInput): Aml {
  const devices = [
    ...(input.com1 ? [com1(input.com1.port, input.com1.irq)] : []),
    ...input.virtio.map((v, i) => virtioDevice(i, v.base, v.size, v.gsi)),
    ...powerButton(input.gedGsi),
    ...(input.pvpanicPort === undefined ? [] : [pvpanic(input.pvpanicPort)]),
  ];
  return concat([
    scope('\\_SB_', devices),
    name('_S5_', packageOf([integer(S5_SLEEP_TYPE), integer(0), integer(0), integer(0)])),
  ]);
}

export function dsdt(input: DsdtInput): Uint8Array {
  return sdt('DSDT', 2, dsdtAml(input));
}

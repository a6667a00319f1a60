// The legacy (port I/O) devices, one definition each, in one table: where a
// device sits, whether a VM has it, the state its vCPU threads share, what a
// vCPU thread attaches to its bus, and how the guest finds it through ACPI.
// The VM creates the states of the devices its config has (legacyDevicesOf),
// each vCPU thread attaches them (attachLegacyDevices), and the DSDT lists
// those with an ACPI entry. Adding a device is one entry here and its file.
import type { LegacyDsdtEntry } from '../arch/x86_64/acpi/dsdt.js';
import { COM1_IRQ, COM1_PORT, I8042_COMMAND_PORT, I8042_DATA_PORT, I8042_IRQ, S5_SLEEP_TYPE } from '../arch/x86_64/layout.js';
import type { VmConfig } from '../config/schema.js';
import type { VcpuExit } from '../vm/vcpu-control.js';
import { ACPI_PM_PORT, ACPI_PM_PORT_COUNT, AcpiPowerManagement } from './acpi-pm.js';
import type { Bus, BusDevice } from './bus.js';
import { DEBUG_EXIT_PORT, DEBUG_EXIT_PORT_COUNT, DebugExit } from './debug-exit.js';
import { I8042, I8042_PORT_COUNT } from './i8042.js';
import { PCI_CONFIG_PORT, PCI_CONFIG_PORT_COUNT, PciHost } from './pci-host.js';
import { panicEventNames, PVPANIC_PORT, PVPANIC_PORT_COUNT, PvPanic } from './pvpanic.js';
import { Serial16550, SERIAL_PORT_COUNT } from './serial.js';

/** What a vCPU thread gives the devices it attaches. */
export interface LegacyContext {
  /** Raises or lowers an ISA interrupt line. */
  setIrq(irq: number, level: 0 | 1): void;
  /** Ends the VM's run (a reset, a power-off, a failure the guest reports). */
  end(exit: VcpuExit): void;
  /** A guest event for the VMM's event stream, such as a panic. */
  report(event: string, properties: Record<string, string>): void;
  /** COM1's output, one byte at a time. */
  serialOutput(byte: number): void;
}

/**
 * A device the DSDT lists: its name there, _HID, _UID, its ISA IRQ, and the
 * I/O ranges its _CRS lists where they are not the device's whole port range.
 */
export type LegacyAcpiEntry = Omit<LegacyDsdtEntry, 'ranges'> & Partial<Pick<LegacyDsdtEntry, 'ranges'>>;

export interface LegacyDevice {
  port: number;
  portCount: number;
  present(config: VmConfig): boolean;
  /** The registers every vCPU thread's view shares, made once per VM. */
  createState?(): SharedArrayBuffer;
  attach(context: LegacyContext, state: SharedArrayBuffer | undefined): BusDevice;
  acpi?: LegacyAcpiEntry;
}

function needState(name: string, state: SharedArrayBuffer | undefined): SharedArrayBuffer {
  if (!state) throw new Error(`internal: ${name} attached without its state`);
  return state;
}

export const LEGACY_DEVICES = {
  serial: {
    port: COM1_PORT,
    portCount: SERIAL_PORT_COUNT,
    present: (config) => config.serial.mode !== 'Off',
    createState: () => Serial16550.createState(),
    attach: (context, state) => new Serial16550(needState('serial', state), context.serialOutput, (level) => context.setIrq(COM1_IRQ, level)),
    acpi: { name: 'COM1', hid: 'PNP0501', uid: 1, irq: COM1_IRQ },
  },
  i8042: {
    port: I8042_DATA_PORT,
    portCount: I8042_PORT_COUNT,
    present: () => true,
    createState: () => I8042.createState(),
    attach: (context, state) => new I8042(needState('i8042', state), {
      reset: () => context.end({ kind: 'reset' }),
      interrupt: (irq) => {
        context.setIrq(irq, 1);
        context.setIrq(irq, 0);
      },
    }),
    // A kernel with ACPI's hardware-reduced profile allocates ISA IRQs only for
    // devices that name them: without this entry Debian's i8042 driver finds no
    // IRQ 1 and fails its probe (-EINVAL). Data and command ports only.
    acpi: {
      name: 'PS2K', hid: 'PNP0303', uid: 0, irq: I8042_IRQ,
      ranges: [{ port: I8042_DATA_PORT, count: 1 }, { port: I8042_COMMAND_PORT, count: 1 }],
    },
  },
  'debug-exit': {
    port: DEBUG_EXIT_PORT,
    portCount: DEBUG_EXIT_PORT_COUNT,
    present: () => true,
    attach: (context) => new DebugExit(context.end),
  },
  pvpanic: {
    port: PVPANIC_PORT,
    portCount: PVPANIC_PORT_COUNT,
    present: (config) => config.pvpanic === true,
    attach: (context) => new PvPanic((events) => context.report('panic', { events: panicEventNames(events) })),
    acpi: { name: 'PEVT', hid: 'QEMU0001', uid: 0 },
  },
  'pci-host': {
    port: PCI_CONFIG_PORT,
    portCount: PCI_CONFIG_PORT_COUNT,
    present: () => true,
    createState: () => PciHost.createState(),
    attach: (_context, state) => new PciHost(needState('pci-host', state)),
  },
  'acpi-pm': {
    port: ACPI_PM_PORT,
    portCount: ACPI_PM_PORT_COUNT,
    present: () => true,
    attach: (context) => new AcpiPowerManagement(S5_SLEEP_TYPE, context.end),
  },
} satisfies Record<string, LegacyDevice>;

export type LegacyName = keyof typeof LEGACY_DEVICES;

/** A legacy device a VM has, with the state its vCPU threads share; passed to every vCPU worker. */
export interface LegacyDeviceState {
  name: LegacyName;
  state?: SharedArrayBuffer;
}

function definitionOf(name: LegacyName): LegacyDevice {
  return LEGACY_DEVICES[name];
}

/** The legacy devices `config` has, their shared states made. */
export function legacyDevicesOf(config: VmConfig): LegacyDeviceState[] {
  return (Object.keys(LEGACY_DEVICES) as LegacyName[])
    .filter((name) => definitionOf(name).present(config))
    .map((name) => ({ name, state: definitionOf(name).createState?.() }));
}

/** Attaches this vCPU thread's view of each device to its port I/O bus. */
export function attachLegacyDevices(bus: Bus, devices: LegacyDeviceState[], context: LegacyContext): void {
  for (const { name, state } of devices) {
    const definition = definitionOf(name);
    bus.register(definition.port, definition.portCount, definition.attach(context, state));
  }
}

/** What the DSDT lists for these devices: each ACPI entry with its I/O ranges. */
export function legacyAcpiEntries(devices: LegacyDeviceState[]): LegacyDsdtEntry[] {
  return devices.flatMap(({ name }) => {
    const { acpi, port, portCount } = definitionOf(name);
    return acpi ? [{ ...acpi, ranges: acpi.ranges ?? [{ port, count: portCount }] }] : [];
  });
}

// The hardware-reduced ACPI registers the FADT names: sleep control (a
// write of SLP_EN with the \_S5 sleep type powers the VM off), sleep status
// (reads 0: never asleep), and the reset register (RESET_VALUE resets it).
// Three byte-wide I/O ports.
import type { VcpuExit } from '../vm/vcpu-control.js';
import type { BusDevice } from './bus.js';

export const ACPI_PM_PORT = 0x600;
export const ACPI_PM_PORT_COUNT = 3;
export const AcpiPmPort = { SleepControl: ACPI_PM_PORT, SleepStatus: ACPI_PM_PORT + 1, Reset: ACPI_PM_PORT + 2 } as const;
export const ACPI_RESET_VALUE = 0x01;
const SLP_EN = 1 << 5;
const SLP_TYP_SHIFT = 2;
const SLP_TYP_MASK = 0x7;

export class AcpiPowerManagement implements BusDevice {
  constructor(private readonly sleepTypeS5: number, private readonly end: (exit: VcpuExit) => void) {}

  read(): number {
    return 0;
  }

  write(offset: number, _size: number, value: number): void {
    const port = ACPI_PM_PORT + offset;
    if (port === AcpiPmPort.SleepControl && value & SLP_EN && ((value >> SLP_TYP_SHIFT) & SLP_TYP_MASK) === this.sleepTypeS5) {
      this.end({ kind: 'poweroff' });
    } else if (port === AcpiPmPort.Reset && (value & 0xff) === ACPI_RESET_VALUE) {
      this.end({ kind: 'reset' });
    }
  }
}

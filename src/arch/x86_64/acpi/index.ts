// Lays the ACPI tables out in guest memory: the RSDP at RSDP_ADDR (where
// Linux also finds it by scanning), then the XSDT, FADT, MADT and DSDT,
// each 16-byte aligned, in the reserved area below 1 MiB.
import { HIMEM_START, IOAPIC_ADDR, LAPIC_ADDR, RSDP_ADDR } from '../layout.js';
import { dsdt, type DsdtInput } from './dsdt.js';
import { fadt, madt, rsdp, xsdt, type FadtPorts } from './tables.js';

export interface AcpiInput extends DsdtInput {
  cpuCount: number;
  ioapicId: number;
  ports: FadtPorts;
}

export interface PlacedTable {
  address: number;
  bytes: Uint8Array;
}

const align16 = (n: number): number => Math.ceil(n / 16) * 16;

/** Every table with its address; the first is the RSDP at RSDP_ADDR. */
export function buildAcpiTables(input: AcpiInput): PlacedTable[] {
  const dsdtBytes = dsdt(input);
  const madtBytes = madt({ cpuCount: input.cpuCount, lapicAddress: LAPIC_ADDR, ioapicId: input.ioapicId, ioapicAddress: IOAPIC_ADDR });
  const xsdtAddress = RSDP_ADDR + 64;
  const fadtAddress = align16(xsdtAddress + 36 + 2 * 8);
  const madtAddress = align16(fadtAddress + 276);
  const dsdtAddress = align16(madtAddress + madtBytes.length);
  const tables: PlacedTable[] = [
    { address: RSDP_ADDR, bytes: rsdp(xsdtAddress) },
    { address: xsdtAddress, bytes: xsdt([fadtAddress, madtAddress]) },
    { address: fadtAddress, bytes: fadt(dsdtAddress, input.ports) },
    { address: madtAddress, bytes: madtBytes },
    { address: dsdtAddress, bytes: dsdtBytes },
  ];
  const end = dsdtAddress + dsdtBytes.length;
  if (end > HIMEM_START) throw new Error(`ACPI tables end at 0x${end.toString(16)}, past 1 MiB`);
  return tables;
}

// The fixed-layout ACPI tables (ACPI 6.5, chapter 5.2): the RSDP, the XSDT,
// a hardware-reduced FADT with sleep control/status and reset registers,
// and the MADT. Each table is returned with its checksum set.
import { checksum } from '../mptable.js';

export const OEM_ID = 'TSVMM ';
export const OEM_TABLE_ID = 'TSVMMVM ';
const CREATOR_ID = 'TSVM';
const HEADER_SIZE = 36;

function ascii(bytes: Uint8Array, offset: number, text: string): void {
  for (let i = 0; i < text.length; i++) bytes[offset + i] = text.charCodeAt(i);
}

/** A system description table: the 36-byte header, then `body`; checksummed. */
export function sdt(signature: string, revision: number, body: Uint8Array): Uint8Array {
  const table = new Uint8Array(HEADER_SIZE + body.length);
  const view = new DataView(table.buffer);
  ascii(table, 0, signature);
  view.setUint32(4, table.length, true);
  table[8] = revision;
  ascii(table, 10, OEM_ID);
  ascii(table, 16, OEM_TABLE_ID);
  view.setUint32(24, 1, true);
  ascii(table, 28, CREATOR_ID);
  view.setUint32(32, 1, true);
  table.set(body, HEADER_SIZE);
  table[9] = checksum(table);
  return table;
}

/** RSDP revision 2: points at the XSDT only. */
export function rsdp(xsdtAddress: number): Uint8Array {
  const table = new Uint8Array(36);
  const view = new DataView(table.buffer);
  ascii(table, 0, 'RSD PTR ');
  ascii(table, 9, OEM_ID);
  table[15] = 2;
  view.setUint32(20, table.length, true);
  view.setBigUint64(24, BigInt(xsdtAddress), true);
  table[8] = checksum(table.subarray(0, 20));
  table[32] = checksum(table);
  return table;
}

export function xsdt(entries: number[]): Uint8Array {
  const body = new Uint8Array(8 * entries.length);
  const view = new DataView(body.buffer);
  entries.forEach((address, i) => view.setBigUint64(8 * i, BigInt(address), true));
  return sdt('XSDT', 1, body);
}

/** A Generic Address Structure for a byte-wide I/O port. */
function ioPortGas(view: DataView, offset: number, port: number): void {
  view.setUint8(offset, 1); // system I/O space
  view.setUint8(offset + 1, 8); // register bit width
  view.setUint8(offset + 2, 0);
  view.setUint8(offset + 3, 1); // byte access
  view.setBigUint64(offset + 4, BigInt(port), true);
}

export interface FadtPorts {
  sleepControl: number;
  sleepStatus: number;
  reset: number;
  resetValue: number;
}

const FADT_SIZE = 276;
const FadtFlag = { PowerButton: 1 << 4, SleepButton: 1 << 5, ResetRegister: 1 << 10, HardwareReduced: 1 << 20 } as const;
const BootArch = { I8042: 1 << 1, VgaNotPresent: 1 << 2, CmosRtcNotPresent: 1 << 5 } as const;

/**
 * FADT revision 6, hardware-reduced: no PM1 blocks or SCI; power-off goes
 * through the sleep control register and reboot through the reset register.
 * The power button is a control-method device in the DSDT.
 */
export function fadt(dsdtAddress: number, ports: FadtPorts): Uint8Array {
  const body = new Uint8Array(FADT_SIZE - HEADER_SIZE);
  const view = new DataView(body.buffer);
  const at = (offset: number): number => offset - HEADER_SIZE;
  view.setUint16(at(109), BootArch.I8042 | BootArch.VgaNotPresent | BootArch.CmosRtcNotPresent, true);
  view.setUint32(at(112), FadtFlag.PowerButton | FadtFlag.SleepButton | FadtFlag.ResetRegister | FadtFlag.HardwareReduced, true);
  ioPortGas(view, at(116), ports.reset);
  view.setUint8(at(128), ports.resetValue);
  view.setUint8(at(131), 5); // FADT minor version: ACPI 6.5
  view.setBigUint64(at(140), BigInt(dsdtAddress), true); // X_DSDT
  ioPortGas(view, at(244), ports.sleepControl);
  ioPortGas(view, at(256), ports.sleepStatus);
  view.setBigUint64(at(268), 0x4d56_5354n, true); // hypervisor vendor identity: "TSVM"
  return sdt('FACP', 6, body);
}

export interface MadtInput {
  cpuCount: number;
  lapicAddress: number;
  ioapicId: number;
  ioapicAddress: number;
}

const MadtEntry = { LocalApic: 0, IoApic: 1, InterruptOverride: 2, LocalApicNmi: 4 } as const;
const PCAT_COMPAT = 1;

/** MADT revision 5: one LAPIC per vCPU (APIC ID = index), the IOAPIC, IRQ0 on GSI 2, NMI on LINT1. */
export function madt({ cpuCount, lapicAddress, ioapicId, ioapicAddress }: MadtInput): Uint8Array {
  const entries: number[][] = [];
  for (let cpu = 0; cpu < cpuCount; cpu++) entries.push([MadtEntry.LocalApic, 8, cpu, cpu, 1, 0, 0, 0]);
  entries.push([MadtEntry.IoApic, 12, ioapicId, 0, ...le32(ioapicAddress), ...le32(0)]);
  entries.push([MadtEntry.InterruptOverride, 10, 0, 0, ...le32(2), 0, 0]);
  entries.push([MadtEntry.LocalApicNmi, 6, 0xff, 0, 0, 1]);
  const body = new Uint8Array(8 + entries.reduce((sum, entry) => sum + entry.length, 0));
  const view = new DataView(body.buffer);
  view.setUint32(0, lapicAddress, true);
  view.setUint32(4, PCAT_COMPAT, true);
  let offset = 8;
  for (const entry of entries) {
    body.set(entry, offset);
    offset += entry.length;
  }
  return sdt('APIC', 5, body);
}

function le32(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
}

// The Intel MultiProcessor Specification 1.4 table: a floating pointer and a
// configuration table describing the CPUs, the ISA bus, the IOAPIC and how
// the 24 IOAPIC pins map to ISA interrupts. Linux uses it to find the CPUs
// when booted without ACPI (`acpi=off`).
import { IOAPIC_ADDR, LAPIC_ADDR } from './layout.js';

const FLOATING_SIZE = 16;
const HEADER_SIZE = 44;
const PROCESSOR_SIZE = 20;
const ENTRY_SIZE = 8;
export const IOAPIC_PINS = 24;
const SPEC_REVISION = 4;
const LAPIC_VERSION = 0x14;
const IOAPIC_VERSION = 0x11;
const CPU_ENABLED = 1;
const CPU_BOOTSTRAP = 2;
/** Family 6 signature, with FPU and APIC feature flags, as CPUID would say. */
const CPU_SIGNATURE = 0x600;
const CPU_FEATURES = 0x201;
const INT_TYPE_INT = 0;
const INT_TYPE_NMI = 1;
const INT_TYPE_EXTINT = 3;

export function mpTableSize(cpuCount: number): number {
  const entries = 1 + 1 + IOAPIC_PINS + 2; // bus, IOAPIC, pins, two local interrupts
  return FLOATING_SIZE + HEADER_SIZE + cpuCount * PROCESSOR_SIZE + entries * ENTRY_SIZE;
}

export function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (const byte of bytes) sum = (sum + byte) & 0xff;
  return (0x100 - sum) & 0xff;
}

function ascii(view: DataView, offset: number, text: string): void {
  for (let i = 0; i < text.length; i++) view.setUint8(offset + i, text.charCodeAt(i));
}

/** Builds the table for `cpuCount` CPUs, to be placed at `address`. */
export function buildMpTable(cpuCount: number, address: number): Uint8Array {
  const bytes = new Uint8Array(mpTableSize(cpuCount));
  const view = new DataView(bytes.buffer);
  const ioapicId = cpuCount;
  const headerOffset = FLOATING_SIZE;
  let offset = headerOffset + HEADER_SIZE;
  let entryCount = 0;

  for (let cpu = 0; cpu < cpuCount; cpu++) {
    view.setUint8(offset, 0);
    view.setUint8(offset + 1, cpu);
    view.setUint8(offset + 2, LAPIC_VERSION);
    view.setUint8(offset + 3, CPU_ENABLED | (cpu === 0 ? CPU_BOOTSTRAP : 0));
    view.setUint32(offset + 4, CPU_SIGNATURE, true);
    view.setUint32(offset + 8, CPU_FEATURES, true);
    offset += PROCESSOR_SIZE;
    entryCount++;
  }
  const entry = (fill: (at: number) => void): void => {
    fill(offset);
    offset += ENTRY_SIZE;
    entryCount++;
  };
  entry((at) => { view.setUint8(at, 1); ascii(view, at + 2, 'ISA   '); });
  entry((at) => {
    view.setUint8(at, 2);
    view.setUint8(at + 1, ioapicId);
    view.setUint8(at + 2, IOAPIC_VERSION);
    view.setUint8(at + 3, 1);
    view.setUint32(at + 4, IOAPIC_ADDR, true);
  });
  for (let pin = 0; pin < IOAPIC_PINS; pin++) {
    entry((at) => {
      view.setUint8(at, 3);
      view.setUint8(at + 1, INT_TYPE_INT);
      view.setUint8(at + 5, pin);
      view.setUint8(at + 6, ioapicId);
      view.setUint8(at + 7, pin);
    });
  }
  for (const [type, lint, apic] of [[INT_TYPE_EXTINT, 0, 0], [INT_TYPE_NMI, 1, 0xff]] as const) {
    entry((at) => {
      view.setUint8(at, 4);
      view.setUint8(at + 1, type);
      view.setUint8(at + 6, apic);
      view.setUint8(at + 7, lint);
    });
  }

  ascii(view, headerOffset, 'PCMP');
  view.setUint16(headerOffset + 4, bytes.length - FLOATING_SIZE, true);
  view.setUint8(headerOffset + 6, SPEC_REVISION);
  ascii(view, headerOffset + 8, 'TSVMM   ');
  ascii(view, headerOffset + 16, 'MICROVM     ');
  view.setUint16(headerOffset + 34, entryCount, true);
  view.setUint32(headerOffset + 36, LAPIC_ADDR, true);
  view.setUint8(headerOffset + 7, checksum(bytes.subarray(headerOffset)));

  ascii(view, 0, '_MP_');
  view.setUint32(4, address + headerOffset, true);
  view.setUint8(8, 1);
  view.setUint8(9, SPEC_REVISION);
  view.setUint8(10, checksum(bytes.subarray(0, FLOATING_SIZE)));
  return bytes;
}

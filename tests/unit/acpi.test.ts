// The AML encoder against hand-assembled bytes (ACPI 6.5, chapter 20), and
// the tables: checksums, lengths, the fields Linux reads, and the DSDT's
// devices.
import t from 'tap';
import {
  buffer, device, extendedInterrupt, integer, ioPorts, isaIrq, memory32Fixed, method, name, nameString, notify,
  packageOf, pkgLength, resourceTemplate, string,
} from '../../src/arch/x86_64/acpi/aml.js';
import { dsdtAml } from '../../src/arch/x86_64/acpi/dsdt.js';
import { buildAcpiTables } from '../../src/arch/x86_64/acpi/index.js';
import { fadt, madt, rsdp } from '../../src/arch/x86_64/acpi/tables.js';
import { legacyAcpiEntries } from '../../src/devices/legacy.js';

const bytes = (text: string): number[] => [...text].map((c) => c.charCodeAt(0));
const sum = (table: Uint8Array): number => table.reduce((a, b) => (a + b) & 0xff, 0);

t.test('PkgLength in one to three bytes', async (t) => {
  t.same([...pkgLength(0)], [0x01]);
  t.same([...pkgLength(62)], [0x3f]);
  t.same([...pkgLength(63)], [0x41, 0x04], '65 = 0x41: low nibble in the lead byte, the rest after');
  t.same([...pkgLength(4093)], [0x4f, 0xff]);
  t.same([...pkgLength(4094)], [0x81, 0x00, 0x01], '4097 needs two following bytes');
});

t.test('names, integers, strings', async (t) => {
  t.same([...nameString('_HID')], bytes('_HID'));
  t.same([...nameString('\\_SB_.PWRB')], [0x5c, 0x2e, ...bytes('_SB_PWRB')]);
  t.same([...nameString('\\A.B.C')], [0x5c, 0x2f, 3, ...bytes('A___B___C___')]);
  t.same([...nameString('^PARN')], [0x5e, ...bytes('PARN')]);
  t.throws(() => nameString('lower'), /bad AML name segment/);
  t.same([...integer(0)], [0x00]);
  t.same([...integer(1)], [0x01]);
  t.same([...integer(5)], [0x0a, 0x05]);
  t.same([...integer(0x1234)], [0x0b, 0x34, 0x12]);
  t.same([...integer(0xfee00000)], [0x0c, 0x00, 0x00, 0xe0, 0xfe]);
  t.same([...integer(2n ** 40n)], [0x0e, 0, 0, 0, 0, 0, 1, 0, 0]);
  t.same([...string('PNP0C0C')], [0x0d, ...bytes('PNP0C0C'), 0]);
});

t.test('Name, Package, Buffer, Device, Method, Notify', async (t) => {
  t.same([...name('_S5_', packageOf([integer(5), integer(0)]))], [0x08, ...bytes('_S5_'), 0x12, 0x05, 0x02, 0x0a, 0x05, 0x00]);
  t.same([...buffer(Uint8Array.of(1, 2))], [0x11, 0x05, 0x0a, 0x02, 1, 2]);
  t.same([...device('PWRB', [name('_UID', integer(0))])], [0x5b, 0x82, 0x0b, ...bytes('PWRB'), 0x08, ...bytes('_UID'), 0x00]);
  t.same([...method('_EVT', 1, true, [notify('PWRB', 0x80)])],
    [0x14, 0x0d, ...bytes('_EVT'), 0x09, 0x86, ...bytes('PWRB'), 0x0a, 0x80]);
});

t.test('resource descriptors', async (t) => {
  t.same([...memory32Fixed(0xc0000000, 0x1000)], [0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x10, 0x00, 0x00]);
  t.same([...extendedInterrupt(5, { edge: false, activeLow: false, shared: false })], [0x89, 0x06, 0x00, 0x01, 0x01, 0x05, 0x00, 0x00, 0x00]);
  t.same([...extendedInterrupt(23, { edge: true, activeLow: false, shared: false })], [0x89, 0x06, 0x00, 0x03, 0x01, 0x17, 0x00, 0x00, 0x00]);
  t.same([...ioPorts(0x3f8, 8)], [0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08]);
  t.same([...isaIrq(4)], [0x22, 0x10, 0x00]);
  t.same([...resourceTemplate([isaIrq(4)])], [0x11, 0x08, 0x0a, 0x05, 0x22, 0x10, 0x00, 0x79, 0x00]);
});

const ports = { sleepControl: 0x600, sleepStatus: 0x601, reset: 0x602, resetValue: 1 };

t.test('RSDP, FADT and MADT: checksums and the fields Linux reads', async (t) => {
  const pointer = rsdp(0xe0040);
  t.equal(sum(pointer.subarray(0, 20)), 0, 'RSDP checksum over the first 20 bytes');
  t.equal(sum(pointer), 0, 'extended checksum');
  t.equal(new DataView(pointer.buffer).getBigUint64(24, true), 0xe0040n, 'XSDT address');

  const f = fadt(0xe1000, ports);
  const fv = new DataView(f.buffer);
  t.equal(f.length, 276);
  t.equal(sum(f), 0);
  t.equal(String.fromCharCode(...f.subarray(0, 4)), 'FACP');
  t.equal(fv.getUint32(112, true) & (1 << 20), 1 << 20, 'HW_REDUCED_ACPI');
  t.equal(fv.getUint32(112, true) & (1 << 10), 1 << 10, 'RESET_REG_SUP');
  t.equal(fv.getUint16(109, true) & 2, 2, 'an 8042 is present');
  t.same([...f.subarray(116, 128)], [1, 8, 0, 1, 0x02, 0x06, 0, 0, 0, 0, 0, 0], 'reset register: I/O port 0x602');
  t.equal(f[128], 1, 'reset value');
  t.equal(fv.getBigUint64(140, true), 0xe1000n, 'X_DSDT');
  t.same([...f.subarray(244, 256)], [1, 8, 0, 1, 0x00, 0x06, 0, 0, 0, 0, 0, 0], 'sleep control register: I/O port 0x600');
  t.same([...f.subarray(256, 268)], [1, 8, 0, 1, 0x01, 0x06, 0, 0, 0, 0, 0, 0], 'sleep status register: I/O port 0x601');

  const m = madt({ cpuCount: 2, lapicAddress: 0xfee00000, ioapicId: 2, ioapicAddress: 0xfec00000 });
  t.equal(sum(m), 0);
  t.same([...m.subarray(44, 60)], [0, 8, 0, 0, 1, 0, 0, 0, 0, 8, 1, 1, 1, 0, 0, 0], 'one enabled LAPIC per vCPU, APIC ID = index');
  t.same([...m.subarray(60, 72)], [1, 12, 2, 0, 0x00, 0x00, 0xc0, 0xfe, 0, 0, 0, 0], 'IOAPIC 2 at 0xfec00000, GSI base 0');
  t.same([...m.subarray(72, 82)], [2, 10, 0, 0, 2, 0, 0, 0, 0, 0], 'ISA IRQ 0 on GSI 2');
  t.same([...m.subarray(82, 88)], [4, 6, 0xff, 0, 0, 1], 'NMI on LINT1 of every CPU');
  t.equal(m.length, 88);
});

t.test('the DSDT names COM1, each virtio-mmio device, the power button and its GED, pvpanic, and \\_S5', async (t) => {
  const aml = Buffer.from(dsdtAml({
    legacy: legacyAcpiEntries([{ name: 'serial' }, { name: 'i8042' }, { name: 'pvpanic' }]), gedGsi: 23,
    virtio: [{ base: 0xc0000000, size: 0x1000, gsi: 5 }, { base: 0xc0001000, size: 0x1000, gsi: 6 }],
  }));
  for (const text of ['PNP0501', 'LNRO0005', 'VR00', 'VR01', 'PNP0C0C', 'ACPI0013', '_EVT', '_S5_', '_CCA', 'QEMU0001']) {
    t.ok(aml.includes(text), `contains ${text}`);
  }
  t.ok(aml.includes(Buffer.from(memory32Fixed(0xc0001000, 0x1000))), 'the second device\'s registers');
  t.ok(aml.includes(Buffer.from(ioPorts(0x505, 1))), 'pvpanic on port 0x505');
  t.ok(aml.includes(Buffer.from(ioPorts(0x3f8, 8))), 'COM1 on ports 0x3f8-0x3ff');
  t.ok(aml.includes(Buffer.from(isaIrq(4))), 'and IRQ 4');
  t.ok(aml.includes(Buffer.from(extendedInterrupt(6, { edge: true, activeLow: false, shared: false }))), 'and its GSI, edge-triggered (an irqfd pulses it)');
});

t.test('the tables are laid out from 0xe0000, aligned, checksummed, below 1 MiB', async (t) => {
  const tables = buildAcpiTables({
    cpuCount: 4, ioapicId: 4, ports, gedGsi: 23, legacy: legacyAcpiEntries([{ name: 'serial' }, { name: 'pvpanic' }]),
    virtio: Array.from({ length: 18 }, (_, i) => ({ base: 0xc0000000 + i * 0x1000, size: 0x1000, gsi: 5 + i })),
  });
  t.equal(tables[0]?.address, 0xe0000);
  t.same(tables.map((table) => String.fromCharCode(...table.bytes.subarray(0, 4))), ['RSD ', 'XSDT', 'FACP', 'APIC', 'DSDT']);
  for (const table of tables) {
    t.equal(table.address % 16, 0);
    t.equal(sum(table.bytes), 0);
  }
  const xsdt = tables[1]?.bytes as Uint8Array;
  const xv = new DataView(xsdt.buffer);
  t.same([xv.getBigUint64(36, true), xv.getBigUint64(44, true)], [BigInt(tables[2]?.address ?? 0), BigInt(tables[3]?.address ?? 0)]);
  const last = tables[4] as { address: number; bytes: Uint8Array };
  t.ok(last.address + last.bytes.length <= 0x100000);
});

// PCI configuration mechanism #1 with only a host bridge: Linux's type-1
// probe (write 0x80000000 to CONFIG_ADDRESS, read it back) and its sanity
// check (a function of class host bridge on bus 0) pass, every other function
// reads as absent, and nothing the guest writes can change the bridge.
import fc from 'fast-check';
import t from 'tap';
import { checkProperty } from '../helpers/property.js';
import { configRead, PciHost } from '../../src/devices/pci-host.js';

const ADDRESS = 0;
const DATA = 4;
const select = (bus: number, device: number, fn: number, register: number): number =>
  (0x8000_0000 | (bus << 16) | (device << 11) | (fn << 8) | register) >>> 0;

t.test("Linux's type-1 probe and sanity check find the host bridge at 00:00.0", async (t) => {
  const host = new PciHost(PciHost.createState());
  host.write(3, 1, 0x01); // Linux's first byte write to 0xcfb: ignored
  host.write(ADDRESS, 4, 0x8000_0000);
  t.equal(host.read(ADDRESS, 4), 0x8000_0000, 'CONFIG_ADDRESS reads back');
  host.write(ADDRESS, 4, select(0, 0, 0, 0x00));
  t.equal(host.read(DATA, 2), 0x8086, 'vendor');
  t.equal(host.read(DATA + 2, 2), 0x0d57, 'device');
  host.write(ADDRESS, 4, select(0, 0, 0, 0x08));
  t.equal(host.read(DATA, 4) >>> 8, 0x060000, 'class: host bridge');
  host.write(ADDRESS, 4, select(0, 0, 0, 0x0c));
  t.equal(host.read(DATA + 2, 1), 0, 'header type 0, one function');
});

t.test('every other function, and a disabled address, reads as absent', async (t) => {
  const host = new PciHost(PciHost.createState());
  for (const [bus, device, fn] of [[0, 1, 0], [0, 0, 1], [1, 0, 0], [255, 31, 7]] as const) {
    host.write(ADDRESS, 4, select(bus, device, fn, 0));
    t.equal(host.read(DATA, 4), 0xffff_ffff, `${bus}:${device}.${fn}`);
    t.equal(host.read(DATA, 2), 0xffff, `${bus}:${device}.${fn}, 16 bits`);
  }
  host.write(ADDRESS, 4, 0);
  t.equal(host.read(DATA, 4), 0xffff_ffff, 'enable bit clear');
});

t.test('two vCPU threads share CONFIG_ADDRESS', async (t) => {
  const state = PciHost.createState();
  new PciHost(state).write(ADDRESS, 4, select(0, 0, 0, 0));
  t.equal(new PciHost(state).read(DATA, 2), 0x8086);
});

t.test('property: any access sequence reads values of the access size, and never changes the bridge', async (t) => {
  const access = fc.record({
    write: fc.boolean(), offset: fc.integer({ min: 0, max: 7 }), size: fc.constantFrom(1, 2, 4),
    value: fc.integer({ min: 0, max: 0xffff_ffff }),
  });
  await checkProperty(t, 'pci-host: random access sequences', 'device', 500, fc.array(access, { maxLength: 40 }), (accesses) => {
    const host = new PciHost(PciHost.createState());
    for (const { write, offset, size, value } of accesses) {
      if (write) host.write(offset, size, value);
      else if (host.read(offset, size) > 2 ** (8 * size) - 1) return false;
    }
    return configRead(select(0, 0, 0, 0), 0, 4) === 0x0d57_8086;
  });
});

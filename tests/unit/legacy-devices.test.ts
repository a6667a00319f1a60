// The legacy device table: which devices a config gives a VM, that their
// port ranges never overlap, that each vCPU thread's view shares the VM's
// state, and that a device's reports reach the VMM through its context.
import t from 'tap';
import { acceptBody } from '../../src/config/accept.js';
import { VmConfigSchema, type VmConfig } from '../../src/config/schema.js';
import { Bus } from '../../src/devices/bus.js';
import {
  attachLegacyDevices, LEGACY_DEVICES, legacyAcpiEntries, legacyDevicesOf, type LegacyContext, type LegacyDevice, type LegacyName,
} from '../../src/devices/legacy.js';
import type { VcpuExit } from '../../src/vm/vcpu-control.js';

const config = (body: object): VmConfig => acceptBody<VmConfig>('vm.create', VmConfigSchema, { payload: { kernel: 'k' }, ...body });

function context() {
  const seen = { irqs: [] as Array<[number, number]>, exits: [] as VcpuExit[], reports: [] as Array<[string, Record<string, string>]>, output: [] as number[] };
  const ctx: LegacyContext = {
    setIrq: (irq, level) => seen.irqs.push([irq, level]),
    end: (exit) => seen.exits.push(exit),
    report: (event, properties) => seen.reports.push([event, properties]),
    serialOutput: (byte) => seen.output.push(byte),
  };
  return { ctx, seen };
}

t.test('a config chooses the devices: COM1 unless serial is Off, pvpanic only when asked', async (t) => {
  t.same(legacyDevicesOf(config({})).map(({ name }) => name), ['serial', 'i8042', 'debug-exit', 'pci-host', 'acpi-pm'], 'serial Null still has a UART');
  t.same(legacyDevicesOf(config({ serial: { mode: 'Off' }, pvpanic: true })).map(({ name }) => name), ['i8042', 'debug-exit', 'pvpanic', 'pci-host', 'acpi-pm']);
  const states = legacyDevicesOf(config({}));
  t.ok(states.find(({ name }) => name === 'serial')?.state instanceof SharedArrayBuffer, 'COM1 has shared registers');
  t.equal(states.find(({ name }) => name === 'debug-exit')?.state, undefined, 'the exit port has none');
});

t.test('the DSDT entries: COM1 with IRQ 4, the keyboard port with its data and command ports and IRQ 1', async (t) => {
  const entries = legacyAcpiEntries(legacyDevicesOf(config({ pvpanic: true })));
  t.same(entries.map((e) => e.hid), ['PNP0501', 'PNP0303', 'QEMU0001']);
  t.match(entries.find((e) => e.hid === 'PNP0501'), { irq: 4, ranges: [{ port: 0x3f8, count: 8 }] });
  t.match(entries.find((e) => e.hid === 'PNP0303'), { irq: 1, ranges: [{ port: 0x60, count: 1 }, { port: 0x64, count: 1 }] },
    'Linux takes the first range as data and the second as command, and maps IRQ 1 only because it is named');
});

t.test('every device attaches to one bus without overlapping another', async (t) => {
  const all = (Object.keys(LEGACY_DEVICES) as LegacyName[]).map((name) => ({ name, state: (LEGACY_DEVICES[name] as LegacyDevice).createState?.() }));
  const bus = new Bus('pio');
  t.doesNotThrow(() => attachLegacyDevices(bus, all, context().ctx));
});

t.test('two vCPU threads\' views share the state; reports, resets and output go through the context', async (t) => {
  const devices = legacyDevicesOf(config({ pvpanic: true }));
  const first = context();
  const second = context();
  const busA = new Bus('pio');
  const busB = new Bus('pio');
  attachLegacyDevices(busA, devices, first.ctx);
  attachLegacyDevices(busB, devices, second.ctx);
  busA.write(0x3ff, 1, 0x5a); // COM1's scratch register
  t.equal(busB.read(0x3ff, 1), 0x5a, 'the other vCPU reads what this one wrote');
  busA.write(0x3f8, 1, 0x41);
  t.same(first.seen.output, [0x41], 'COM1 output');
  busB.write(0x505, 1, 1);
  t.same(second.seen.reports, [['panic', { events: 'panicked' }]], 'pvpanic reports a guest panic');
  busA.write(0x64, 1, 0xfe);
  t.same(first.seen.exits, [{ kind: 'reset' }], 'the i8042 reset line');
  busB.write(0xf4, 4, 0);
  t.same(second.seen.exits, [{ kind: 'poweroff' }], 'the test exit port');
});

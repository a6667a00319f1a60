import t from 'tap';
import { loadPayload } from '../../src/arch/x86_64/boot.js';
import { bootRegisters, bootSregs } from '../../src/arch/x86_64/cpu-state.js';
import { e820Map, E820_RAM } from '../../src/arch/x86_64/e820.js';
import { gdtBytes, segmentFor } from '../../src/arch/x86_64/gdt.js';
import { checksum, buildMpTable, mpTableSize } from '../../src/arch/x86_64/mptable.js';
import { translateLongMode, writeIdentityPageTables } from '../../src/arch/x86_64/paging.js';
import { parseBzImage } from '../../src/arch/x86_64/bzimage.js';
import { parsePvhElf } from '../../src/arch/x86_64/elf.js';
import { decodeSregs, encodeSregs, SREGS_SIZE } from '../../src/arch/x86_64/registers.js';
import { GuestMemory, planRegions } from '../../src/vm/memory.js';
import { buildTestBzImage } from '../helpers/bzimage.js';
import { buildTestElf } from '../helpers/elf.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

t.test('RAM is split around the MMIO gap', async (t) => {
  t.same(planRegions(256 * MiB), [{ guestAddress: 0, hostOffset: 0, size: 256 * MiB }]);
  t.same(planRegions(4 * GiB), [
    { guestAddress: 0, hostOffset: 0, size: 2 * GiB },
    { guestAddress: 2 * GiB, hostOffset: 2 * GiB, size: GiB },
    { guestAddress: 4 * GiB, hostOffset: 3 * GiB, size: GiB },
  ]);
});

t.test('guest memory refuses ranges outside RAM', async (t) => {
  const memory = GuestMemory.detached(16 * MiB);
  t.ok(memory.contains(0, 16 * MiB));
  t.notOk(memory.contains(16 * MiB - 4, 8));
  t.notOk(memory.contains(-1, 1));
  t.notOk(memory.contains(0.5, 1));
  t.throws(() => memory.slice(16 * MiB, 1), { name: 'GuestMemoryError' });
  t.throws(() => memory.readU64(16 * MiB - 4), /outside RAM/);
});

t.test('e820: low RAM below the EBDA, then from 1 MiB, then above 4 GiB', async (t) => {
  t.same(e820Map(GuestMemory.detached(64 * MiB)), [
    { address: 0, size: 0x9fc00, type: E820_RAM },
    { address: 0x100000, size: 63 * MiB, type: E820_RAM },
  ]);
  const regions = planRegions(4 * GiB);
  const fake = { layout: { memoryId: 0, size: 4 * GiB, regions } } as unknown as GuestMemory;
  t.same(e820Map(fake), [
    { address: 0, size: 0x9fc00, type: E820_RAM },
    { address: 0x100000, size: 3 * GiB - MiB, type: E820_RAM },
    { address: 4 * GiB, size: GiB, type: E820_RAM },
  ]);
});

t.test('identity page tables map the first GiB with 2 MiB pages', async (t) => {
  const memory = GuestMemory.detached(16 * MiB);
  writeIdentityPageTables(memory);
  t.equal(memory.readU64(0x9000), 0xa003n);
  t.equal(memory.readU64(0xa000), 0xb003n);
  t.equal(memory.readU64(0xb000), 0x83n);
  t.equal(memory.readU64(0xb000 + 511 * 8), (511n << 21n) | 0x83n);
  t.equal(translateLongMode(memory, 0x9000n, 0x123456n), 0x123456);
  t.equal(translateLongMode(memory, 0x9000n, 0x4000_0000n), undefined, 'beyond the first GiB');
  t.equal(translateLongMode(memory, 0xfff_f000n, 0n), undefined, 'tables outside RAM');
});

t.test('GDT descriptors and the segments KVM gets', async (t) => {
  const view = new DataView(gdtBytes().buffer);
  t.equal(view.getBigUint64(0x08, true), 0x00cf9b000000ffffn);
  t.equal(view.getBigUint64(0x10, true), 0x00af9b000000ffffn);
  t.equal(view.getBigUint64(0x18, true), 0x00cf93000000ffffn);
  t.match(segmentFor(0x10), { selector: 0x10, type: 0xb, l: 1, db: 0, g: 1, limit: 0xffffffff, present: 1, s: 1 });
  t.match(segmentFor(0x18), { type: 3, l: 0, db: 1, limit: 0xffffffff });
  t.match(segmentFor(0x20), { type: 0xb, s: 0, limit: 0x67, g: 0 });
});

t.test('MP table: checksums, one processor entry per CPU, the IOAPIC', async (t) => {
  const table = buildMpTable(2, 0x9fc00);
  t.equal(table.length, mpTableSize(2));
  const view = new DataView(table.buffer);
  t.equal(new TextDecoder().decode(table.subarray(0, 4)), '_MP_');
  t.equal(checksum(table.subarray(0, 16)), 0, 'floating pointer sums to zero');
  t.equal(view.getUint32(4, true), 0x9fc00 + 16, 'points at the config table');
  t.equal(new TextDecoder().decode(table.subarray(16, 20)), 'PCMP');
  t.equal(checksum(table.subarray(16)), 0, 'config table sums to zero');
  t.equal(view.getUint16(16 + 34, true), 2 + 1 + 1 + 24 + 2, 'entry count');
  const cpu0 = 16 + 44;
  t.same([table[cpu0], table[cpu0 + 1], table[cpu0 + 3]], [0, 0, 3], 'BSP enabled');
  t.same([table[cpu0 + 20], table[cpu0 + 21], table[cpu0 + 23]], [0, 1, 1], 'AP enabled');
  const ioapic = cpu0 + 40 + 8;
  t.same([table[ioapic], table[ioapic + 1]], [2, 2], 'IOAPIC id follows the CPUs');
  t.equal(view.getUint32(ioapic + 4, true), 0xfec00000);
});

t.test('bzImage payload: zero page, command line, initramfs at the top of low RAM', async (t) => {
  const memory = GuestMemory.detached(64 * MiB);
  const kernel = parseBzImage(buildTestBzImage({ kernelBytes: 8192 }));
  const initramfs = new Uint8Array(10000).fill(7);
  const entry = loadPayload(memory, { kernel, initramfs, cmdline: 'console=ttyS0' }, 1);
  t.same(entry, { protocol: 'linux64', entry: 0x100200, bootInfoAddress: 0x7000 });
  t.equal(memory.readU32(0x7000 + 0x202), 0x53726448, 'setup header copied');
  t.equal(memory.slice(0x7000 + 0x210, 1)[0], 0xff, 'type_of_loader');
  t.equal(memory.readU32(0x7000 + 0x228), 0x20000, 'cmd_line_ptr');
  t.equal(new TextDecoder().decode(memory.slice(0x20000, 14)), 'console=ttyS0\0');
  const initrdAddress = memory.readU32(0x7000 + 0x218);
  t.equal(initrdAddress % 4096, 0, 'page aligned');
  t.equal(initrdAddress, Math.floor((64 * MiB - 10000) / 4096) * 4096, 'at the top of RAM');
  t.equal(memory.readU32(0x7000 + 0x21c), 10000);
  t.equal(memory.slice(initrdAddress, 1)[0], 7);
  t.equal(memory.slice(0x7000 + 0x1e8, 1)[0], 2, 'two e820 entries');
  t.equal(memory.slice(0x100000, 1)[0], 0x90, 'kernel at 1 MiB');
  t.same([...memory.slice(0xffff0, 8)], [0xfa, 0xb0, 0xfe, 0xe6, 0x64, 0xf4, 0xeb, 0xfd],
    'at the BIOS reset vector F000:FFF0: cli; pulse the i8042 reset line; hlt');
  const e820 = memory.slice(0x7000 + 0x2d0, 2 * 20);
  const ram = new DataView(e820.buffer, e820.byteOffset, e820.byteLength);
  t.ok(ram.getUint32(8, true) <= 0xffff0 && ram.getUint32(20, true) >= 0x100000, 'and outside the RAM the e820 map lists');
});

t.test('payload errors', async (t) => {
  const kernel = parseBzImage(buildTestBzImage({ initSize: 20 * MiB }));
  t.throws(() => loadPayload(GuestMemory.detached(16 * MiB), { kernel, cmdline: '' }, 1), /needs 21 MiB of low memory/);
  const small = parseBzImage(buildTestBzImage({}));
  t.throws(() => loadPayload(GuestMemory.detached(16 * MiB), { kernel: small, cmdline: 'x'.repeat(2048) }, 1),
    /command line is 2048 bytes; this kernel accepts at most 2047/);
  t.throws(() => loadPayload(GuestMemory.detached(16 * MiB), { kernel: small, initramfs: new Uint8Array(15 * MiB), cmdline: '' }, 1),
    /initramfs \(15 MiB\) does not fit/);
  const elf = parsePvhElf(buildTestElf({ segments: [{ address: 0x1000, code: Uint8Array.of(1) }], pvhEntry: 0x1000 }));
  t.throws(() => loadPayload(GuestMemory.detached(16 * MiB), { kernel: elf, cmdline: '' }, 1), /does not fit in guest RAM above 1 MiB/);
});

t.test('PVH payload: start info, memory map and module list', async (t) => {
  const memory = GuestMemory.detached(64 * MiB);
  const kernel = parsePvhElf(buildTestElf({ segments: [{ address: 0x200000, code: Uint8Array.of(0xf4), memorySize: 0x1000 }], pvhEntry: 0x200000 }));
  const entry = loadPayload(memory, { kernel, initramfs: new Uint8Array(4096), cmdline: 'x' }, 1);
  t.same(entry, { protocol: 'pvh', entry: 0x200000, bootInfoAddress: 0x6000 });
  t.equal(memory.readU32(0x6000), 0x336ec578, 'magic');
  t.equal(memory.readU32(0x6000 + 4), 1, 'version');
  t.equal(memory.readU32(0x6000 + 12), 1, 'one module');
  t.equal(memory.readU64(0x6000 + 24), 0x20000n, 'cmdline');
  t.equal(memory.readU32(0x6000 + 48), 2, 'memmap entries');
  t.equal(memory.readU64(0x6100 + 24), 0x100000n, 'second memmap entry starts at 1 MiB');
  t.equal(memory.readU64(0x6f00 + 8), 4096n, 'module size');
});

t.test('boot registers for each protocol', async (t) => {
  const base = decodeSregs(new Uint8Array(SREGS_SIZE));
  base.cr0 = 0x6000_0010n;
  const long = bootSregs({ protocol: 'linux64', entry: 0x100200, bootInfoAddress: 0x7000 }, base);
  t.equal(long.cr0, 0x8000_0011n, 'PE, ET and PG; caches on');
  t.equal(long.efer, 0x500n);
  t.equal(long.cr3, 0x9000n);
  t.equal(long.cs.selector, 0x10);
  t.equal(long.ds.selector, 0x18);
  const pvh = bootSregs({ protocol: 'pvh', entry: 0x1000000, bootInfoAddress: 0x6000 }, base);
  t.equal(pvh.cr0, 0x11n);
  t.equal(pvh.efer, 0n);
  t.equal(pvh.cs.selector, 0x08);
  t.equal(pvh.cs.db, 1);
  const regs = bootRegisters({ protocol: 'pvh', entry: 0x1000000, bootInfoAddress: 0x6000 });
  t.equal(regs.rbx, 0x6000n);
  t.equal(regs.rip, 0x1000000n);
  t.equal(regs.rflags, 2n);
  t.same(decodeSregs(encodeSregs(long)), long, 'sregs round-trip');
});

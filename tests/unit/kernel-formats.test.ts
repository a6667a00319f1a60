import t from 'tap';
import { parseKernel } from '../../src/arch/x86_64/boot.js';
import { parseBzImage } from '../../src/arch/x86_64/bzimage.js';
import { parsePvhElf } from '../../src/arch/x86_64/elf.js';
import { buildTestElf } from '../helpers/elf.js';
import { buildTestBzImage } from '../helpers/bzimage.js';

t.test('a valid bzImage setup header', async (t) => {
  const image = parseBzImage(buildTestBzImage({ kernelBytes: 5000 }));
  t.equal(image.header.protocol, 0x020f);
  t.equal(image.header.setupSects, 4);
  t.equal(image.header.cmdlineSize, 2047);
  t.equal(image.kernel.length, 5000);
  t.equal(image.headerBytes.length, image.header.headerEnd - 0x1f1);
});

t.test('bzImage rejections say why', async (t) => {
  const cases: Array<[Parameters<typeof buildTestBzImage>[0], RegExp]> = [
    [{ bootFlag: 0 }, /no boot flag 0xAA55/],
    [{ magic: 0 }, /no "HdrS" setup header/],
    [{ protocol: 0x0206 }, /boot protocol 2.06; the 64-bit entry needs 2.12/],
    [{ xloadflags: 0 }, /no 64-bit entry point \(XLF_KERNEL_64/],
    [{ loadflags: 0 }, /LOADED_HIGH is clear/],
    [{ setupSects: 60 }, /setup_sects \(60\) points past the end/],
    [{ initSize: 0 }, /init_size 0/],
  ];
  for (const [options, message] of cases) {
    t.throws(() => parseBzImage(buildTestBzImage(options)), { name: 'PayloadError', message });
  }
  t.throws(() => parseBzImage(new Uint8Array(100)), /too short/);
});

t.test('ELF with a PVH note', async (t) => {
  const elf = parsePvhElf(buildTestElf({
    segments: [{ address: 0x100000, code: Uint8Array.of(1, 2, 3), memorySize: 0x2000 }],
    pvhEntry: 0x100040,
  }));
  t.equal(elf.entry, 0x100040);
  t.equal(elf.segments.length, 1);
  t.equal(elf.segments[0]?.memorySize, 0x2000);
});

t.test('ELF rejections say why', async (t) => {
  const segments = [{ address: 0x100000, code: Uint8Array.of(0x90) }];
  t.throws(() => parsePvhElf(buildTestElf({ segments })), /no PVH entry note.*CONFIG_PVH=y/);
  t.throws(() => parsePvhElf(buildTestElf({ segments, pvhEntry: 0x100000, machine: 3 })), /not built for x86_64/);
  t.throws(() => parsePvhElf(buildTestElf({ segments: [], pvhEntry: 0x100000 })), /no loadable segment/);
  const truncated = buildTestElf({ segments, pvhEntry: 0x100000 }).subarray(0, 80);
  t.throws(() => parsePvhElf(truncated), /program headers are outside the file/);
});

t.test('format detection', async (t) => {
  t.equal(parseKernel(buildTestBzImage({})).kind, 'bzimage');
  t.equal(parseKernel(buildTestElf({ segments: [{ address: 0x100000, code: Uint8Array.of(0x90) }], pvhEntry: 0x100000 })).kind, 'elf');
  t.throws(() => parseKernel(new TextEncoder().encode('#!/bin/sh\necho not a kernel\n'.repeat(50))),
    /neither an ELF vmlinux nor a bzImage/);
});

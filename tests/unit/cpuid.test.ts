import t from 'tap';
import { decodeCpuid, encodeCpuid, vcpuCpuid, type CpuidEntry } from '../../src/arch/x86_64/cpuid.js';
import { bootMsrsFor, decodeMsrs, encodeMsrs } from '../../src/arch/x86_64/msrs.js';

const entry = (fn: number, index: number, regs: Partial<CpuidEntry> = {}): CpuidEntry => ({
  function: fn, index, flags: 0, eax: 0, ebx: 0, ecx: 0, edx: 0, ...regs,
});

const supported = [
  entry(1, 0, { ebx: 0xff00_0800, ecx: 0x1, edx: 0x1000_0000 }),
  entry(4, 0, { eax: 0x121 }),
  entry(4, 3, { eax: 0 }),
  entry(7, 0, { edx: 1 << 29 }),
  entry(0xb, 0), entry(0xb, 1), entry(0xb, 2),
  entry(0x4000_0000, 0, { ebx: 0x4b4d564b }),
];

t.test('APIC ID, topology and the hypervisor bit per vCPU', async (t) => {
  const result = vcpuCpuid(supported, { apicId: 3, cpuCount: 4, refusedMsrs: new Set(), nested: true });
  const find = (fn: number, index = 0) => result.find((e) => e.function === fn && e.index === index);
  t.equal(find(1)?.ebx, 0x0304_0800, 'APIC id 3, 4 logical CPUs, CLFLUSH size kept');
  t.equal(find(1)?.ecx, 0x8000_0001, 'hypervisor bit');
  t.equal((find(1)?.edx ?? 0) & (1 << 28), 1 << 28, 'HTT with several CPUs');
  t.equal(find(4)?.eax, (3 << 26) | 0x121, 'cores per package');
  t.equal(find(4, 3)?.eax, 0, 'null cache level untouched');
  t.same(find(0xb, 0), entry(0xb, 0, { eax: 0, ebx: 1, ecx: 0x100, edx: 3 }));
  t.same(find(0xb, 1), entry(0xb, 1, { eax: 2, ebx: 4, ecx: 0x201, edx: 3 }));
  t.same(find(0xb, 2), entry(0xb, 2, { ecx: 2, edx: 3 }));
  t.equal(find(7)?.edx, 1 << 29, 'ARCH_CAPABILITIES kept when its MSR works');
  t.same(find(0x4000_0000), supported[7], 'KVM leaves kept');
});

t.test('a single vCPU has no HTT', async (t) => {
  const [leaf1] = vcpuCpuid([supported[0] as CpuidEntry], { apicId: 0, cpuCount: 1, refusedMsrs: new Set(), nested: true });
  t.equal(leaf1?.edx, 0);
  t.equal(leaf1?.ebx, 0x0001_0800);
});

t.test('features whose MSR KVM refuses are hidden', async (t) => {
  const result = vcpuCpuid(supported, { apicId: 0, cpuCount: 1, refusedMsrs: new Set([0x10a]), nested: true });
  t.equal(result.find((e) => e.function === 7)?.edx, 0);
});

t.test('cpus.nested=false hides VMX and SVM; true keeps what KVM offers', async (t) => {
  const virt = [entry(1, 0, { ecx: (1 << 5) | 1 }), entry(0x8000_0001, 0, { ecx: (1 << 2) | 1 })];
  const ecx = (nested: boolean) => vcpuCpuid(virt, { apicId: 0, cpuCount: 1, refusedMsrs: new Set(), nested }).map((e) => e.ecx);
  t.same(ecx(true), [0x8000_0021, 0x5]);
  t.same(ecx(false), [0x8000_0001, 0x1]);
});

t.test('cpuid and msr encodings round-trip', async (t) => {
  t.same(decodeCpuid(encodeCpuid(supported)), supported);
  const msrs = [{ index: 0x10, value: 5n }, { index: 0xc0000081, value: 1n << 63n }];
  t.same(decodeMsrs(encodeMsrs(msrs)), msrs);
});

t.test('only MSRs that KVM lists are set at boot', async (t) => {
  const chosen = bootMsrsFor(new Set([0x10, 0x1a0, 0x174]));
  t.same(chosen.map((m) => m.index), [0x174, 0x10, 0x1a0]);
  t.equal(chosen.find((m) => m.index === 0x1a0)?.value, 1n, 'fast strings');
});

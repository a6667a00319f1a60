// CPUID for each vCPU: KVM_GET_SUPPORTED_CPUID, with the topology and APIC ID
// of that vCPU, the hypervisor bit, and features whose MSR KVM refuses
// taken out.

export const CPUID_ENTRY_SIZE = 40;

export interface CpuidEntry {
  function: number;
  index: number;
  flags: number;
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

export function decodeCpuid(bytes: Uint8Array): CpuidEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries: CpuidEntry[] = [];
  for (let offset = 0; offset + CPUID_ENTRY_SIZE <= bytes.length; offset += CPUID_ENTRY_SIZE) {
    entries.push({
      function: view.getUint32(offset, true),
      index: view.getUint32(offset + 4, true),
      flags: view.getUint32(offset + 8, true),
      eax: view.getUint32(offset + 12, true),
      ebx: view.getUint32(offset + 16, true),
      ecx: view.getUint32(offset + 20, true),
      edx: view.getUint32(offset + 24, true),
    });
  }
  return entries.map((entry) => ({
    ...entry, eax: entry.eax >>> 0, ebx: entry.ebx >>> 0, ecx: entry.ecx >>> 0, edx: entry.edx >>> 0,
  }));
}

export function encodeCpuid(entries: CpuidEntry[]): Uint8Array {
  const bytes = new Uint8Array(entries.length * CPUID_ENTRY_SIZE);
  const view = new DataView(bytes.buffer);
  entries.forEach((entry, i) => {
    const offset = i * CPUID_ENTRY_SIZE;
    view.setUint32(offset, entry.function, true);
    view.setUint32(offset + 4, entry.index, true);
    view.setUint32(offset + 8, entry.flags, true);
    view.setUint32(offset + 12, entry.eax >>> 0, true);
    view.setUint32(offset + 16, entry.ebx >>> 0, true);
    view.setUint32(offset + 20, entry.ecx >>> 0, true);
    view.setUint32(offset + 24, entry.edx >>> 0, true);
  });
  return bytes;
}

/** A CPUID feature bit that the guest may only see when KVM lets it use `msr`. */
export interface MsrBackedFeature {
  function: number;
  index: number;
  register: 'eax' | 'ebx' | 'ecx' | 'edx';
  bit: number;
  msr: number;
}

export const MSR_BACKED_FEATURES: readonly MsrBackedFeature[] = [
  // IA32_ARCH_CAPABILITIES (CPUID.7.0:EDX[29])
  { function: 7, index: 0, register: 'edx', bit: 29, msr: 0x10a },
];

export interface CpuidOptions {
  apicId: number;
  cpuCount: number;
  /** MSRs the vCPU failed to read; features that depend on them are hidden. */
  refusedMsrs: ReadonlySet<number>;
  /** false hides hardware virtualization (VMX, SVM) from the guest. */
  nested: boolean;
}

const LEAF_FEATURES = 1;
const LEAF_CACHE = 4;
const LEAF_TOPOLOGY = 0xb;
const LEAF_TOPOLOGY_V2 = 0x1f;
const HYPERVISOR_BIT = 1 << 31;
const LEAF_EXT_FEATURES = 0x8000_0001;
const VMX_BIT = 1 << 5; // leaf 1, ECX
const SVM_BIT = 1 << 2; // leaf 0x80000001, ECX
const HTT_BIT = 1 << 28;
const LEVEL_SMT = 1;
const LEVEL_CORE = 2;

function bitsFor(count: number): number {
  return count <= 1 ? 0 : Math.ceil(Math.log2(count));
}

/** One socket, `cpuCount` cores, one thread each: the APIC ID is the core number. */
function topologyLevel(entry: CpuidEntry, options: CpuidOptions): CpuidEntry {
  const level = entry.index;
  const result = { ...entry, edx: options.apicId };
  if (level === 0) return { ...result, eax: 0, ebx: 1, ecx: (LEVEL_SMT << 8) | level };
  if (level === 1) {
    return { ...result, eax: bitsFor(options.cpuCount), ebx: options.cpuCount, ecx: (LEVEL_CORE << 8) | level };
  }
  return { ...result, eax: 0, ebx: 0, ecx: level };
}

export function vcpuCpuid(supported: CpuidEntry[], options: CpuidOptions): CpuidEntry[] {
  const entries = supported.map((source): CpuidEntry => {
    const entry = { ...source };
    switch (entry.function) {
      case LEAF_FEATURES:
        entry.ebx = (entry.ebx & 0x0000ffff) | (options.cpuCount << 16) | (options.apicId << 24);
        entry.ecx |= HYPERVISOR_BIT;
        if (!options.nested) entry.ecx &= ~VMX_BIT;
        entry.edx = options.cpuCount > 1 ? entry.edx | HTT_BIT : entry.edx & ~HTT_BIT;
        return entry;
      case LEAF_CACHE:
        if ((entry.eax & 0x1f) === 0) return entry;
        entry.eax = (entry.eax & 0x03ff_ffff) | ((options.cpuCount - 1) << 26);
        return entry;
      case LEAF_EXT_FEATURES:
        if (!options.nested) entry.ecx &= ~SVM_BIT;
        return entry;
      case LEAF_TOPOLOGY:
      case LEAF_TOPOLOGY_V2:
        return topologyLevel(entry, options);
      default:
        return entry;
    }
  });
  for (const feature of MSR_BACKED_FEATURES) {
    if (!options.refusedMsrs.has(feature.msr)) continue;
    for (const entry of entries) {
      if (entry.function === feature.function && entry.index === feature.index) {
        entry[feature.register] &= ~(1 << feature.bit);
      }
    }
  }
  return entries.map((entry) => ({
    ...entry, eax: entry.eax >>> 0, ebx: entry.ebx >>> 0, ecx: entry.ecx >>> 0, edx: entry.edx >>> 0,
  }));
}

// The boot GDT and the segment registers that match it. One table serves
// both entry modes: a 32-bit flat code segment for PVH and a 64-bit one for
// the Linux 64-bit boot protocol, which wants __BOOT_CS = 0x10 and
// __BOOT_DS = 0x18.
import type { Segment } from './registers.js';

export const CODE32_SELECTOR = 0x08;
export const CODE64_SELECTOR = 0x10;
export const DATA_SELECTOR = 0x18;
export const TSS_SELECTOR = 0x20;

interface DescriptorFields {
  base: number;
  limit: number;
  /** Access byte: present, DPL, S, type. */
  access: number;
  /** Flags nibble: G, D/B, L, AVL. */
  flags: number;
}

export function encodeDescriptor({ base, limit, access, flags }: DescriptorFields): bigint {
  const b = BigInt(base >>> 0);
  const l = BigInt(limit & 0xfffff);
  return (
    (l & 0xffffn) |
    ((b & 0xffffffn) << 16n) |
    (BigInt(access & 0xff) << 40n) |
    (((l >> 16n) & 0xfn) << 48n) |
    (BigInt(flags & 0xf) << 52n) |
    (((b >> 24n) & 0xffn) << 56n)
  );
}

const FLAT = { base: 0, limit: 0xfffff };
export const GDT_DESCRIPTORS: readonly bigint[] = [
  0n,
  encodeDescriptor({ ...FLAT, access: 0x9b, flags: 0xc }), // 0x08: 32-bit code
  encodeDescriptor({ ...FLAT, access: 0x9b, flags: 0xa }), // 0x10: 64-bit code
  encodeDescriptor({ ...FLAT, access: 0x93, flags: 0xc }), // 0x18: data
  encodeDescriptor({ base: 0, limit: 0x67, access: 0x8b, flags: 0 }), // 0x20: busy TSS
];

export function gdtBytes(): Uint8Array {
  const bytes = new Uint8Array(GDT_DESCRIPTORS.length * 8);
  const view = new DataView(bytes.buffer);
  GDT_DESCRIPTORS.forEach((descriptor, i) => view.setBigUint64(i * 8, descriptor, true));
  return bytes;
}

/** The kvm_segment KVM wants for the descriptor at `selector`. */
export function segmentFor(selector: number): Segment {
  const descriptor = GDT_DESCRIPTORS[selector >> 3] ?? 0n;
  const access = Number((descriptor >> 40n) & 0xffn);
  const flags = Number((descriptor >> 52n) & 0xfn);
  const limit = Number((descriptor & 0xffffn) | (((descriptor >> 48n) & 0xfn) << 16n));
  const granular = (flags & 0x8) !== 0;
  return {
    base: 0n,
    limit: granular ? limit * 4096 + 4095 : limit,
    selector,
    type: access & 0xf,
    present: (access >> 7) & 1,
    dpl: (access >> 5) & 3,
    db: (flags >> 2) & 1,
    s: (access >> 4) & 1,
    l: (flags >> 1) & 1,
    g: (flags >> 3) & 1,
    avl: flags & 1,
    unusable: 0,
  };
}

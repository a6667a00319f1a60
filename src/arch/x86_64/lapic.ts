// Local APIC set-up for a vCPU: LINT0 delivers ExtINT (the 8259 PIC) and
// LINT1 delivers NMI, as firmware leaves them on a PC.

const APIC_LVT_LINT0 = 0x350;
const APIC_LVT_LINT1 = 0x360;
const DELIVERY_MODE_MASK = 0x700;
const DELIVERY_NMI = 0x4 << 8;
const DELIVERY_EXTINT = 0x7 << 8;

/** Edits a KVM_GET_LAPIC register page in place. */
export function configureLapic(registers: Uint8Array): void {
  const view = new DataView(registers.buffer, registers.byteOffset, registers.byteLength);
  const set = (offset: number, mode: number): void => {
    view.setUint32(offset, (view.getUint32(offset, true) & ~DELIVERY_MODE_MASK) | mode, true);
  };
  set(APIC_LVT_LINT0, DELIVERY_EXTINT);
  set(APIC_LVT_LINT1, DELIVERY_NMI);
}

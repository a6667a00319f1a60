// The VM-wide state KVM emulates in the kernel: the two PICs, the IOAPIC,
// the PIT and the KVM clock, as raw structs for a snapshot.
import { native } from '../native.js';

/** kvm_irqchip.chip_id values. */
const IRQCHIPS = [0, 1, 2] as const;
/** kvm_clock_data: u64 clock, u32 flags, ... */
const CLOCK_FLAGS_OFFSET = 8;

export interface KvmVmState {
  /** kvm_irqchip for the master PIC, the slave PIC and the IOAPIC, in that order. */
  irqchips: Uint8Array[];
  pit: Uint8Array;
  clock: Uint8Array;
}

export function captureVmState(vmFd: number): KvmVmState {
  const sizes = native.structSizes;
  const irqchips = IRQCHIPS.map((chip) => {
    const bytes = new Uint8Array(sizes.kvm_irqchip);
    new DataView(bytes.buffer).setUint32(0, chip, true);
    native.getIrqchip(vmFd, bytes);
    return bytes;
  });
  const pit = new Uint8Array(sizes.kvm_pit_state2);
  native.getPit2(vmFd, pit);
  const clock = new Uint8Array(sizes.kvm_clock_data);
  native.getClock(vmFd, clock);
  return { irqchips, pit, clock };
}

/**
 * Writes a captured state into a new VM. The clock's flags are cleared: the
 * guest's clock continues from the value saved, as if no time had passed
 * (KVM_CLOCK_REALTIME would make it jump by the time the snapshot sat on disk).
 */
export function applyVmState(vmFd: number, state: KvmVmState): void {
  for (const chip of state.irqchips) native.setIrqchip(vmFd, chip);
  native.setPit2(vmFd, state.pit);
  const clock = state.clock.slice();
  new DataView(clock.buffer).setUint32(CLOCK_FLAGS_OFFSET, 0, true);
  native.setClock(vmFd, clock);
}

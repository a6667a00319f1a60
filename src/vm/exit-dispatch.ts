// Port I/O and MMIO exits, read straight from the kvm_run page and handed to
// the buses. This runs for every exit the guest takes to user space, so it
// allocates nothing (no object per decoded exit, no BigInt: 64-bit fields are
// read as two 32-bit halves) and reads the page's aligned fields through
// typed arrays. The common exits (a one-byte port access, a 4-byte MMIO
// access) take a short path, small enough for V8 to inline with the bus
// lookup and the device into the vCPU loop; the rest (string I/O, other
// sizes) a general one.
import type { Bus } from '../devices/bus.js';
import { IoDirection, type KvmRunPage, RunIndex, RunIo, RunMmio } from './kvm-run.js';

/** The units of the buses this dispatch expects: one table entry per port, and per MMIO page. */
export const enum BusUnit { Pio = 1, Mmio = 4096, MmioShift = 12, PagesPer4GiB = 0x10_0000 }

/** A port access: `count` items of `size` bytes (string I/O) at `data_offset` in the run page. */
export function dispatchIo(run: KvmRunPage, pio: Bus): void {
  const { u8, u32 } = run;
  // data_offset is a u64 the kernel sets (one page in); a high half would put it far outside the page.
  const dataOffset = u32[RunIndex.IoDataOffset32 + 1] === 0 ? u32[RunIndex.IoDataOffset32] : u8.length;
  if (u32[RunIndex.IoCount32] !== 1 || u8[RunIo.Size] !== 1 || dataOffset >= u8.length) {
    stringIo(run, pio, dataOffset);
  } else if (u8[RunIo.Direction] === IoDirection.Out) {
    pio.writeAt(run.u16[RunIndex.IoPort16], 0, 1, u8[dataOffset]);
  } else {
    u8[dataOffset] = pio.readAt(run.u16[RunIndex.IoPort16], 0, 1);
  }
}

function stringIo(run: KvmRunPage, pio: Bus, dataOffset: number): void {
  const port = run.u16[RunIndex.IoPort16];
  const size = run.u8[RunIo.Size];
  const count = run.u32[RunIndex.IoCount32];
  const isOut = run.u8[RunIo.Direction] === IoDirection.Out;
  for (let i = 0; i < count; i++) {
    const offset = dataOffset + i * size;
    if (offset + size > run.u8.length) return;
    if (isOut) pio.write(port, size, readLittleEndian(run.view, offset, size));
    else writeLittleEndian(run.view, offset, size, pio.read(port, size));
  }
}

/** An MMIO access of up to 8 bytes, handed to the bus as at most two 4-byte accesses. */
export function dispatchMmio(run: KvmRunPage, mmio: Bus): void {
  const u32 = run.u32;
  const high = u32[RunIndex.MmioAddress32 + 1];
  const low = u32[RunIndex.MmioAddress32];
  const isWrite = run.u8[RunMmio.IsWrite] !== 0;
  if (u32[RunIndex.MmioLength32] !== 4) {
    otherMmio(run, mmio, high * 2 ** 32 + low, u32[RunIndex.MmioLength32], isWrite);
    return;
  }
  // Almost every access (virtio registers) is one 4-byte bus call. The
  // address goes to the bus as its page and the offset in it: small
  // integers, where the whole address (above 2 GiB) would be a double.
  const page = high * BusUnit.PagesPer4GiB + (low >>> BusUnit.MmioShift);
  if (isWrite) mmio.writeAt(page, low & (BusUnit.Mmio - 1), 4, u32[RunIndex.MmioData32]);
  else u32[RunIndex.MmioData32] = mmio.readAt(page, low & (BusUnit.Mmio - 1), 4);
}

function otherMmio(run: KvmRunPage, mmio: Bus, address: number, length: number, isWrite: boolean): void {
  if (length === 0) return;
  if (length < 4) {
    mmioAccess(run.view, mmio, address, length, RunMmio.Data, isWrite);
    return;
  }
  mmioAccess(run.view, mmio, address, 4, RunMmio.Data, isWrite);
  mmioAccess(run.view, mmio, address + 4, Math.min(length, 8) - 4, RunMmio.Data + 4, isWrite);
}

function mmioAccess(run: DataView, mmio: Bus, address: number, size: number, offset: number, isWrite: boolean): void {
  if (isWrite) mmio.write(address, size, readLittleEndian(run, offset, size));
  else writeLittleEndian(run, offset, size, mmio.read(address, size));
}

function readLittleEndian(view: DataView, offset: number, size: number): number {
  if (size === 1) return view.getUint8(offset);
  if (size === 2) return view.getUint16(offset, true);
  return view.getUint32(offset, true);
}

function writeLittleEndian(view: DataView, offset: number, size: number, value: number): void {
  if (size === 1) view.setUint8(offset, value & 0xff);
  else if (size === 2) view.setUint16(offset, value & 0xffff, true);
  else view.setUint32(offset, value >>> 0, true);
}

// Port I/O and MMIO exits, read straight from the kvm_run page and handed to
// the buses. This runs for every exit the guest takes to user space, so it
// allocates nothing: no object per decoded exit and no BigInt (the 64-bit
// fields are read as two 32-bit halves).
import type { Bus } from '../devices/bus.js';
import { IO_OUT, RUN_IO, RUN_MMIO } from './kvm-run.js';

/** The data of a port access: `count` items of `size` bytes (string I/O) inside the run page. */
export function dispatchIo(run: DataView, pio: Bus): void {
  const direction = run.getUint8(RUN_IO.direction);
  const size = run.getUint8(RUN_IO.size);
  const port = run.getUint16(RUN_IO.port, true);
  const count = run.getUint32(RUN_IO.count, true);
  // data_offset is a u64 the kernel sets (one page in); a high half would put it far outside the page.
  if (run.getUint32(RUN_IO.dataOffset + 4, true) !== 0) return;
  const dataOffset = run.getUint32(RUN_IO.dataOffset, true);
  for (let i = 0; i < count; i++) {
    const offset = dataOffset + i * size;
    if (offset + size > run.byteLength) return;
    if (direction === IO_OUT) pio.write(port, size, readLittleEndian(run, offset, size));
    else writeLittleEndian(run, offset, size, pio.read(port, size));
  }
}

/** An MMIO access of up to 8 bytes, handed to the bus as at most two 4-byte accesses. */
export function dispatchMmio(run: DataView, mmio: Bus): void {
  const high = run.getUint32(RUN_MMIO.address + 4, true);
  const low = run.getUint32(RUN_MMIO.address, true);
  const address = high === 0 ? low : high * 2 ** 32 + low;
  const length = run.getUint32(RUN_MMIO.length, true);
  const isWrite = run.getUint8(RUN_MMIO.isWrite) !== 0;
  // Almost every access (virtio registers, 4 bytes or less) is one bus call.
  if (length <= 4) {
    if (length !== 0) mmioAccess(run, mmio, address, length, RUN_MMIO.data, isWrite);
    return;
  }
  mmioAccess(run, mmio, address, 4, RUN_MMIO.data, isWrite);
  mmioAccess(run, mmio, address + 4, Math.min(length, 8) - 4, RUN_MMIO.data + 4, isWrite);
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

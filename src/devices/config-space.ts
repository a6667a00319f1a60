// Configuration spaces (virtio's device-specific one, PCI's) are byte arrays
// a driver reads in little-endian pieces of 1, 2 or 4 bytes.

/** A little-endian read of 1, 2 or 4 bytes of `space` at `offset`; outside it (or any other size) reads as 0. */
export function readConfigSpace(space: Uint8Array, offset: number, size: number): number {
  if (![1, 2, 4].includes(size) || offset < 0 || offset + size > space.length) return 0;
  let value = 0;
  for (let i = size - 1; i >= 0; i--) value = value * 256 + (space[offset + i] as number);
  return value;
}

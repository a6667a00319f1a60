// Device-side views of a chain's buffers as one byte stream: skip into it,
// gather from it, scatter into it. The views point into guest memory.

/** The bytes of `buffers` from `skip` on, as a list of views. */
export function after(buffers: Uint8Array[], skip: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let remaining = skip;
  for (const buffer of buffers) {
    if (remaining >= buffer.length) {
      remaining -= buffer.length;
      continue;
    }
    out.push(buffer.subarray(remaining));
    remaining = 0;
  }
  return out;
}

/** A copy of the first `length` bytes; undefined when the buffers hold fewer. */
export function gather(buffers: Uint8Array[], length: number): Uint8Array | undefined {
  const out = new Uint8Array(length);
  let filled = 0;
  for (const buffer of buffers) {
    const take = Math.min(buffer.length, length - filled);
    out.set(buffer.subarray(0, take), filled);
    filled += take;
    if (filled === length) return out;
  }
  return length === 0 ? out : undefined;
}

export function totalLength(buffers: Uint8Array[]): number {
  return buffers.reduce((sum, buffer) => sum + buffer.length, 0);
}

/** Copies `sources` (read as one byte stream from `start`) into `targets`; returns how many bytes it copied. */
export function scatter(targets: Uint8Array[], sources: Uint8Array[], start: number): number {
  let copied = 0;
  let sourceIndex = 0;
  let sourceOffset = start;
  for (const target of targets) {
    let filled = 0;
    while (filled < target.length) {
      while (sourceIndex < sources.length && sourceOffset >= (sources[sourceIndex] as Uint8Array).length) {
        sourceOffset -= (sources[sourceIndex] as Uint8Array).length;
        sourceIndex++;
      }
      const source = sources[sourceIndex];
      if (!source) return copied;
      const take = Math.min(target.length - filled, source.length - sourceOffset);
      target.set(source.subarray(sourceOffset, sourceOffset + take), filled);
      filled += take;
      sourceOffset += take;
      copied += take;
    }
  }
  return copied;
}

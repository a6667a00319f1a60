// Builds a bzImage-shaped file with a Linux setup header, for loader tests.

export interface TestBzImageOptions {
  setupSects?: number;
  bootFlag?: number;
  magic?: number;
  protocol?: number;
  loadflags?: number;
  xloadflags?: number;
  initSize?: number;
  kernelBytes?: number;
}

export function buildTestBzImage(options: TestBzImageOptions): Uint8Array {
  const setupSects = options.setupSects ?? 4;
  const kernelBytes = options.kernelBytes ?? 4096;
  const file = new Uint8Array(5 * 512 + kernelBytes);
  const view = new DataView(file.buffer);
  view.setUint8(0x1f1, setupSects);
  view.setUint16(0x1fe, options.bootFlag ?? 0xaa55, true);
  view.setUint8(0x201, 0x6a); // header ends at 0x26c
  view.setUint32(0x202, options.magic ?? 0x53726448, true);
  view.setUint16(0x206, options.protocol ?? 0x020f, true);
  view.setUint8(0x211, options.loadflags ?? 0x01);
  view.setUint32(0x22c, 0x7fffffff, true);
  view.setUint32(0x230, 0x200000, true);
  view.setUint8(0x234, 1);
  view.setUint16(0x236, options.xloadflags ?? 0x03, true);
  view.setUint32(0x238, 2047, true);
  view.setUint32(0x260, options.initSize ?? 0x400000, true);
  file.fill(0x90, 5 * 512);
  return file;
}

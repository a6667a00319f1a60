// bzImage: the setup header of the Linux x86 boot protocol
// (Documentation/arch/x86/boot.rst). We use the 64-bit entry point, so the
// kernel must say it has one (protocol 2.12+, XLF_KERNEL_64).
import { PayloadError } from '../../util/errors.js';

export const SETUP_HEADER_OFFSET = 0x1f1;
const BOOT_FLAG = 0xaa55;
const HDRS_MAGIC = 0x53726448; // "HdrS"
const MIN_PROTOCOL = 0x020c;
const LOADED_HIGH = 0x01;
const XLF_KERNEL_64 = 0x01;

export interface SetupHeader {
  setupSects: number;
  protocol: number;
  loadflags: number;
  initrdAddrMax: number;
  kernelAlignment: number;
  relocatable: boolean;
  xloadflags: number;
  cmdlineSize: number;
  initSize: number;
  /** Offset of the first byte after the header, from the start of the file. */
  headerEnd: number;
}

export interface BzImage {
  kind: 'bzimage';
  header: SetupHeader;
  /** The raw setup header bytes, copied into the zero page. */
  headerBytes: Uint8Array;
  /** The protected-mode kernel, loaded at 1 MiB. */
  kernel: Uint8Array;
}

export function looksLikeBzImage(file: Uint8Array): boolean {
  if (file.length < 0x206) return false;
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  return view.getUint16(0x1fe, true) === BOOT_FLAG && view.getUint32(0x202, true) === HDRS_MAGIC;
}

export function parseBzImage(file: Uint8Array): BzImage {
  if (file.length < 0x270) throw new PayloadError('kernel is too short to hold a Linux setup header');
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (view.getUint16(0x1fe, true) !== BOOT_FLAG) throw new PayloadError('kernel has no boot flag 0xAA55 at 0x1fe');
  if (view.getUint32(0x202, true) !== HDRS_MAGIC) throw new PayloadError('kernel has no "HdrS" setup header');
  const protocol = view.getUint16(0x206, true);
  const version = `${protocol >> 8}.${(protocol & 0xff).toString().padStart(2, '0')}`;
  if (protocol < MIN_PROTOCOL) {
    throw new PayloadError(`kernel uses boot protocol ${version}; the 64-bit entry needs 2.12 or later`);
  }
  const header: SetupHeader = {
    setupSects: view.getUint8(0x1f1) || 4,
    protocol,
    loadflags: view.getUint8(0x211),
    initrdAddrMax: view.getUint32(0x22c, true),
    kernelAlignment: view.getUint32(0x230, true),
    relocatable: view.getUint8(0x234) !== 0,
    xloadflags: view.getUint16(0x236, true),
    cmdlineSize: view.getUint32(0x238, true),
    initSize: view.getUint32(0x260, true),
    headerEnd: 0x202 + view.getUint8(0x201),
  };
  if ((header.xloadflags & XLF_KERNEL_64) === 0) {
    throw new PayloadError('kernel has no 64-bit entry point (XLF_KERNEL_64 is clear): build it for x86_64');
  }
  if ((header.loadflags & LOADED_HIGH) === 0) {
    throw new PayloadError('kernel is not loadable at 1 MiB (LOADED_HIGH is clear)');
  }
  const kernelOffset = (header.setupSects + 1) * 512;
  if (kernelOffset >= file.length || header.headerEnd > kernelOffset) {
    throw new PayloadError(`setup_sects (${header.setupSects}) points past the end of the kernel file`);
  }
  if (header.initSize === 0) throw new PayloadError('kernel setup header has init_size 0');
  return {
    kind: 'bzimage',
    header,
    headerBytes: file.slice(SETUP_HEADER_OFFSET, header.headerEnd),
    kernel: file.subarray(kernelOffset),
  };
}

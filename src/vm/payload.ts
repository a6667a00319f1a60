// Reads the boot payload named in a VmConfig and checks it, so that a
// missing or malformed kernel is reported before any VM exists.
import { closeSync, constants, readFileSync } from 'node:fs';
import { parseKernel, type BootPayload } from '../arch/x86_64/boot.js';
import { errnoOf, errorMessage, PayloadError } from '../util/errors.js';
import { openHostFile } from '../util/host-file.js';
import type { PayloadConfig } from '../config/schema.js';

/** A kernel or initramfs larger than this is refused before it is read. */
export const MAX_PAYLOAD_BYTES = 1024 ** 3;

/** A regular file, read whole: a FIFO or a device (/dev/zero) could block or never end. */
function readPayloadFile(what: string, path: string): Uint8Array {
  let opened;
  try {
    opened = openHostFile(what, path, constants.O_RDONLY, ['regular file']);
  } catch (error) {
    throw new PayloadError(errorMessage(error).replace(/^cannot open/, 'cannot read'), { code: 'HostFileRejected', cause: error });
  }
  try {
    if (opened.stat.size > MAX_PAYLOAD_BYTES) throw new PayloadError(`${what} ${path} is over ${MAX_PAYLOAD_BYTES / 2 ** 20} MiB`, { code: 'HostFileRejected' });
    return readFileSync(opened.fd);
  } catch (error) {
    if (error instanceof PayloadError) throw error;
    throw new PayloadError(`cannot read ${what} ${path}: ${errnoOf(error)}`, { code: 'HostFileRejected', cause: error });
  } finally {
    closeSync(opened.fd);
  }
}

export function readBootPayload(config: PayloadConfig): BootPayload {
  if (config.kernel === undefined) throw new PayloadError('no kernel given');
  const kernelFile = readPayloadFile('kernel', config.kernel);
  let kernel;
  try {
    kernel = parseKernel(kernelFile);
  } catch (error) {
    if (error instanceof PayloadError) throw new PayloadError(`${config.kernel}: ${error.message}`, { code: error.code, cause: error });
    throw error;
  }
  const initramfs = config.initramfs === undefined ? undefined : readPayloadFile('initramfs', config.initramfs);
  return { kernel, initramfs, cmdline: config.cmdline ?? '' };
}

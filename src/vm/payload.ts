// Reads the boot payload named in a VmConfig and checks it, so that a
// missing or malformed kernel is reported before any VM exists.
import { readFileSync } from 'node:fs';
import { parseKernel, type BootPayload } from '../arch/x86_64/boot.js';
import { PayloadError } from '../util/errors.js';
import type { PayloadConfig } from '../config/schema.js';

function readPayloadFile(what: string, path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new PayloadError(`cannot read ${what} ${path}: ${code}`);
  }
}

export function readBootPayload(config: PayloadConfig): BootPayload {
  if (config.kernel === undefined) throw new PayloadError('no kernel given');
  const kernelFile = readPayloadFile('kernel', config.kernel);
  let kernel;
  try {
    kernel = parseKernel(kernelFile);
  } catch (error) {
    if (error instanceof PayloadError) throw new PayloadError(`${config.kernel}: ${error.message}`);
    throw error;
  }
  const initramfs = config.initramfs === undefined ? undefined : readPayloadFile('initramfs', config.initramfs);
  return { kernel, initramfs, cmdline: config.cmdline ?? '' };
}

// Which virtio devices a VmConfig asks for, and where they sit: 4 KiB
// apart from the start of the MMIO gap, each on its own GSI from 5 up,
// announced to the kernel on its command line.
import { openSync } from 'node:fs';
import { MMIO_GAP_START } from '../arch/x86_64/layout.js';
import { ConfigError } from '../util/errors.js';
import type { VirtioDevice } from '../virtio/device.js';
import { MMIO_SIZE } from '../virtio/mmio.js';
import { VirtioRng } from '../virtio/rng.js';
import type { VmConfig } from './config.js';

export const VIRTIO_FIRST_GSI = 5;
/** GSIs 5..23 of the IOAPIC's 24 pins. */
export const MAX_VIRTIO_DEVICES = 19;

export interface VirtioPlacement {
  base: number;
  gsi: number;
}

export function placeVirtioDevices(count: number): VirtioPlacement[] {
  if (count > MAX_VIRTIO_DEVICES) throw new ConfigError(`at most ${MAX_VIRTIO_DEVICES} virtio devices fit the IOAPIC`);
  return Array.from({ length: count }, (_, i) => ({ base: MMIO_GAP_START + i * MMIO_SIZE, gsi: VIRTIO_FIRST_GSI + i }));
}

/** The kernel parameter that tells Linux's virtio_mmio driver about a device. */
export function announceVirtioDevice({ base, gsi }: VirtioPlacement): string {
  return `virtio_mmio.device=4K@0x${base.toString(16)}:${gsi}`;
}

function openForReading(what: string, path: string): number {
  try {
    return openSync(path, 'r');
  } catch (error) {
    throw new ConfigError(`cannot open ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** Opens what the devices need; a missing file is a ConfigError before any VM exists. */
export function createVirtioDevices(config: VmConfig): VirtioDevice[] {
  const devices: VirtioDevice[] = [];
  if (config.rng) devices.push(new VirtioRng('_rng0', openForReading('rng source', config.rng.src)));
  return devices;
}

// Which virtio devices a VmConfig asks for, and where they sit: 4 KiB
// apart from the start of the MMIO gap, each on its own GSI from 5 up,
// described in the DSDT, or announced on the kernel command line when the
// guest is told acpi=off.
import { closeSync, constants } from 'node:fs';
import type { GuestConsole } from '../console/guest-console.js';
import { VirtioBlock } from '../virtio/block.js';
import { VirtioConsole } from '../virtio/console.js';
import { MMIO_GAP_START } from '../arch/x86_64/layout.js';
import { ConfigError } from '../util/errors.js';
import { openHostFile } from '../util/host-file.js';
import type { VirtioDevice } from '../virtio/device.js';
import { MMIO_SIZE } from '../virtio/mmio.js';
import { VirtioNet } from '../virtio/net.js';
import { VirtioRng } from '../virtio/rng.js';
import { VirtioVsock } from '../virtio/vsock.js';
import { parseMac } from '../virtio/net/address.js';
import type { NetBackend } from '../virtio/net/backend.js';
import { Tap } from '../virtio/net/tap.js';
import { UdpTunnel } from '../virtio/net/udp-tunnel.js';
import { MAX_VIRTIO_DEVICES, type DiskConfig, type NetConfig, type VmConfig, type VsockConfig } from '../config/schema.js';

export const VIRTIO_FIRST_GSI = 5;

export interface VirtioPlacement {
  base: number;
  gsi: number;
}

export function placeVirtioDevices(count: number): VirtioPlacement[] {
  // validateVmConfig refused more devices than this long before; reaching it is a bug.
  if (count > MAX_VIRTIO_DEVICES) throw new Error(`internal: ${count} virtio devices to place, at most ${MAX_VIRTIO_DEVICES} fit`);
  return Array.from({ length: count }, (_, i) => ({ base: MMIO_GAP_START + i * MMIO_SIZE, gsi: VIRTIO_FIRST_GSI + i }));
}

/** Whether a kernel command line turns ACPI off, so devices must be named on it instead. */
export function acpiDisabled(cmdline: string): boolean {
  return cmdline.split(/\s+/).includes('acpi=off');
}

/** The kernel parameter that tells Linux's virtio_mmio driver about a device. */
export function announceVirtioDevice({ base, gsi }: VirtioPlacement): string {
  return `virtio_mmio.device=4K@0x${base.toString(16)}:${gsi}`;
}

export function diskBusy(name: string): ConfigError {
  return new ConfigError(`disk ${name} is in use by another writer (it is locked)`, { code: 'ResourceBusy' });
}

/** Opens an image and, when `lock`, takes its writer lock: a second writer (another tsvmm) is refused. */
function openDisk(disk: DiskConfig, index: number, lock: boolean): VirtioBlock {
  const flags = (disk.readonly ? constants.O_RDONLY : constants.O_RDWR) | (disk.direct ? constants.O_DIRECT : 0);
  const { fd, stat } = openHostFile('disk', disk.path, flags, ['regular file', 'block device']);
  const id = disk.id ?? `_disk${index}`;
  const readonly = disk.readonly ?? false;
  const discard = !readonly && (stat.isFile() || stat.isBlockDevice());
  const image = { fd, size: stat.size, readonly, serial: disk.serial ?? id, discard, direct: disk.direct ?? false };
  const block = new VirtioBlock(id, image, disk.queue_size);
  if (lock && !block.lockImage()) {
    closeSync(fd);
    throw diskBusy(disk.path);
  }
  return block;
}

async function openNet(net: NetConfig, index: number): Promise<VirtioNet> {
  const id = net.id ?? `_net${index}`;
  const backend: NetBackend = net.remote !== undefined ? await UdpTunnel.open(id, net) : Tap.open(id, net);
  // Vmm gives every NIC a MAC at create time; the fallback only serves direct users of Vm.
  const mac = parseMac(`net ${id} mac`, net.mac ?? '52:54:00:00:00:01');
  return new VirtioNet(id, mac, backend, { queueSize: net.queue_size, mtu: net.mtu });
}

/** Listens on the vsock's UNIX socket; a path that exists is refused, as in Cloud Hypervisor. */
async function openVsock(vsock: VsockConfig): Promise<VirtioVsock> {
  try {
    return await VirtioVsock.open(vsock.id ?? '_vsock0', vsock.cid, vsock.socket);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'EADDRINUSE' ? 'something is there already (remove it first)' : (error as Error).message;
    throw new ConfigError(`vsock.socket ${vsock.socket}: cannot listen: ${why}`, { code: 'ResourceBusy' });
  }
}

/**
 * Opens and closes every device file, so a missing or locked one is reported
 * now. Network backends and the vsock's socket are opened at boot only: a
 * TAP, a bound port or a listening socket is not held by a VM that is merely
 * created.
 */
export async function checkVirtioDeviceFiles(config: VmConfig, lockDisks = true): Promise<void> {
  const devices = await createVirtioDevices({ ...config, net: [], vsock: undefined }, undefined, lockDisks);
  await Promise.all(devices.map((device) => device.close()));
}

/** Every VM has an rng, as in Cloud Hypervisor (the config's default is /dev/urandom). */
function openRng(rng: VmConfig['rng']): VirtioRng {
  return new VirtioRng(rng.id ?? '_rng0', openHostFile('rng source', rng.src, constants.O_RDONLY, ['character device', 'regular file']).fd);
}

/** A virtio console whose output goes to `console` and which takes its input. */
function openConsole(console: GuestConsole, id = '_console'): VirtioConsole {
  const device = new VirtioConsole(id, (bytes) => console.write(bytes));
  console.connectInput((bytes) => device.receive(bytes));
  return device;
}

/**
 * Opens what the devices need; a missing file is a ConfigError before any
 * VM exists. The virtio console is made only when its host side is given.
 * Disks are opened unlocked only on a migration's destination, whose source
 * holds their locks until it pauses for good.
 */
export async function createVirtioDevices(config: VmConfig, console?: GuestConsole, lockDisks = true): Promise<VirtioDevice[]> {
  const devices: VirtioDevice[] = [];
  try {
    (config.disks ?? []).forEach((disk, i) => devices.push(openDisk(disk, i, lockDisks)));
    for (const [i, net] of (config.net ?? []).entries()) devices.push(await openNet(net, i));
    devices.push(openRng(config.rng));
    if (config.vsock) devices.push(await openVsock(config.vsock));
    if (console) devices.push(openConsole(console, config.console.id));
  } catch (error) {
    await Promise.all(devices.map((device) => device.close()));
    throw error;
  }
  return devices;
}

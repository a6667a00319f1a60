// What a config leaves the VMM to choose for its devices, chosen once when
// the device enters the config, so vm.info shows it and it stays the same
// across reboots: each disk's, NIC's and the vsock's id (`_disk<N>`,
// `_net<N>`, `_vsock<N>`, as Cloud Hypervisor names them) and each NIC's MAC.
import { randomMac } from '../virtio/net/address.js';
import { deviceIds } from './rules.js';
import type { DiskConfig, NetConfig, VmConfig, VsockConfig } from './schema.js';

function freeId(prefix: string, taken: Set<string | undefined>): string {
  for (let n = 0; ; n++) {
    const id = `${prefix}${n}`;
    if (!taken.has(id)) return id;
  }
}

/** The config with an id on every disk, NIC and vsock and a MAC on every NIC. */
export function withDeviceChoices(config: VmConfig): VmConfig {
  const taken = new Set(deviceIds(config));
  const named = <T extends { id?: string }>(prefix: string) => (device: T): T => {
    if (device.id !== undefined) return device;
    const id = freeId(prefix, taken);
    taken.add(id);
    return { ...device, id };
  };
  const disks = config.disks?.map(named<DiskConfig>('_disk'));
  const net = config.net?.map(named<NetConfig>('_net')).map((nic) => ({ ...nic, mac: nic.mac ?? randomMac() }));
  const vsock = config.vsock ? named<VsockConfig>('_vsock')(config.vsock) : undefined;
  return { ...config, ...(disks ? { disks } : {}), ...(net ? { net } : {}), ...(vsock ? { vsock } : {}) };
}

// The rules a VmConfig must follow beyond its schema: how fields relate to
// each other (max_vcpus and boot_vcpus, a tunnel's addresses, two consoles
// on one socket, unique device ids). Every frontend's config meets them in
// the control loop, after `acceptBody`.
import { checkIPv4, parseEndpoint, parseMac, type Endpoint } from '../virtio/net/address.js';
import { ConfigError } from '../util/errors.js';
import { isValidQueueSize } from '../virtio/queue.js';
import {
  MAX_MEMORY, MAX_VCPUS, MAX_VIRTIO_DEVICES, MIN_MEMORY, type ConsoleConfig, type DiskConfig, type NetConfig, type SerialConfig, type VmConfig,
} from './schema.js';

/** The rules for one NIC. */
export function validateNet(net: NetConfig, field: string): void {
  if (net.mac !== undefined) parseMac(`${field}.mac`, net.mac);
  checkQueueSize(net.queue_size, `${field}.queue_size`);
  if (net.remote !== undefined) {
    for (const key of ['tap', 'ip', 'mask'] as const) {
      if (net[key] !== undefined) throw new ConfigError(`${field}: ${key} is for TAP interfaces; a UDP tunnel (remote) has none`);
    }
    const remote = parseEndpoint(`${field}.remote`, net.remote);
    if (remote.port === 0) throw new ConfigError(`${field}: the remote port must not be 0`);
    if (net.local !== undefined && parseEndpoint(`${field}.local`, net.local).family !== remote.family) {
      throw new ConfigError(`${field}: local and remote must both be IPv4 or both IPv6`);
    }
    return;
  }
  if (net.local !== undefined) throw new ConfigError(`${field}: local is for UDP tunnels and needs remote`);
  if (net.tap !== undefined && Buffer.byteLength(net.tap) > 15) throw new ConfigError(`${field}: tap name "${net.tap}" is longer than 15 bytes`);
  if (net.ip !== undefined) checkIPv4(`${field}.ip`, net.ip);
  if (net.mask !== undefined) checkIPv4(`${field}.mask`, net.mask);
}

/** The rules for one disk. */
export function validateDisk(disk: DiskConfig, field: string): void {
  checkQueueSize(disk.queue_size, `${field}.queue_size`);
  if (disk.image_type !== undefined && disk.image_type !== 'Raw' && disk.image_type !== 'Unknown') {
    throw new ConfigError(`${field}.image_type: "${disk.image_type}" is not supported by tsvmm (raw images only)`, { code: 'UnsupportedField' });
  }
}

/** A split virtqueue's size is a power of two (the schema bounds it already). */
function checkQueueSize(size: number | undefined, field: string): void {
  if (size !== undefined && !isValidQueueSize(size)) throw new ConfigError(`${field}: ${size} is not a power of two`);
}

/** `tcp=PORT` means loopback; `tcp=HOST:PORT` names the address (IP literals only). */
export function parseTcpConsole(field: string, text: string): Endpoint {
  return parseEndpoint(field, /^\d+$/.test(text) ? `127.0.0.1:${text}` : text);
}

/** The rules for one console. */
export function validateConsole(config: SerialConfig, field: string): void {
  const needs: Partial<Record<SerialConfig['mode'], 'file' | 'socket' | 'tcp'>> = { File: 'file', Socket: 'socket', Tcp: 'tcp' };
  const key = needs[config.mode];
  if (key && !config[key]) throw new ConfigError(`${field}: ${config.mode} mode needs ${key}`);
  if (config.mode === 'Tcp') parseTcpConsole(`${field}.tcp`, config.tcp ?? '');
}

/**
 * The serial port and the virtio console cannot share a socket or a fixed tcp
 * port (port 0 is two ports). Both may use the tty, as in Cloud Hypervisor:
 * their output interleaves and the terminal's input goes to the serial port.
 */
function checkConsolesApart(serial: SerialConfig, console: ConsoleConfig): void {
  if (serial.mode !== console.mode) return;
  if (serial.mode === 'Socket' && serial.socket === console.socket) {
    throw new ConfigError(`serial and console cannot share socket ${serial.socket ?? ''}`);
  }
  if (serial.mode === 'Tcp' && serial.tcp === console.tcp && parseTcpConsole('tcp', serial.tcp ?? '').port !== 0) {
    throw new ConfigError(`serial and console cannot share tcp ${serial.tcp ?? ''}`);
  }
}

/** Checks a whole VmConfig, whichever frontend built it. */
export function validateVmConfig(config: VmConfig): void {
  const { cpus, memory, payload } = config;
  if (cpus.max_vcpus < cpus.boot_vcpus) {
    throw new ConfigError(`cpus.max_vcpus (${cpus.max_vcpus}) must not be below boot_vcpus (${cpus.boot_vcpus})`);
  }
  if (cpus.max_vcpus !== cpus.boot_vcpus) {
    throw new ConfigError(`cpus.max_vcpus: ${cpus.max_vcpus} is not supported by tsvmm (CPU hotplug; only boot_vcpus, ${cpus.boot_vcpus})`, { code: 'UnsupportedField' });
  }
  if (cpus.boot_vcpus > MAX_VCPUS) throw new ConfigError(`cpus.boot_vcpus must be at most ${MAX_VCPUS}`);
  if (memory.size < MIN_MEMORY || memory.size > MAX_MEMORY || memory.size % 4096 !== 0) {
    throw new ConfigError(`memory.size must be a multiple of 4 KiB between ${MIN_MEMORY / 2 ** 20} MiB and 1 TiB`);
  }
  if (payload.kernel === undefined) throw new ConfigError('payload.kernel is required (tsvmm boots a kernel, not firmware)');
  validateConsole(config.serial, 'serial');
  validateConsole(config.console, 'console');
  checkConsolesApart(config.serial, config.console);
  (config.disks ?? []).forEach((disk, i) => validateDisk(disk, `disks[${i}]`));
  (config.net ?? []).forEach((net, i) => validateNet(net, `net[${i}]`));
  checkDeviceIds(config);
  checkDeviceCount(config);
}

/** The virtio devices the config makes: its disks and NICs, the rng, the vsock, and the console unless it is off. */
export function virtioDeviceCount(config: VmConfig): number {
  return (config.disks?.length ?? 0) + (config.net?.length ?? 0) + 1 + (config.vsock ? 1 : 0) + (config.console.mode === 'Off' ? 0 : 1);
}

function checkDeviceCount(config: VmConfig): void {
  const count = virtioDeviceCount(config);
  if (count > MAX_VIRTIO_DEVICES) {
    throw new ConfigError(`${count} virtio devices (disks, NICs, the rng, the vsock, the console) are more than the ${MAX_VIRTIO_DEVICES} a VM can place`, { code: 'DeviceLimit' });
  }
}

/** Every device id in the config, in device order. */
export function deviceIds(config: VmConfig): Array<string | undefined> {
  return [...(config.disks ?? []), ...(config.net ?? []), config.rng, config.vsock, config.console].map((device) => device?.id);
}

/** Device ids name counters and devices, so no two may be equal. */
function checkDeviceIds(config: VmConfig): void {
  const seen = new Set<string>();
  for (const id of deviceIds(config)) {
    if (id === undefined) continue;
    if (seen.has(id)) throw new ConfigError(`device id "${id}" is used twice`, { code: 'DuplicateDeviceId' });
    seen.add(id);
  }
}

// VmConfig: what a VM is made of, shared by the CLI and (later) the REST API.
// Field names follow Cloud Hypervisor's VmConfig so JSON bodies match.
import { checkIPv4, parseEndpoint, parseMac, type Endpoint } from '../virtio/net/address.js';
import { ConfigError } from '../util/errors.js';
import { parseInteger, parseOnOff, parseOptionString, parseSize } from './option-string.js';

export type ConsoleMode = 'Off' | 'Null' | 'Tty' | 'File' | 'Pty' | 'Socket' | 'Tcp';

/** A guest console's host side; `file` is also where vm.info reports a pty's path, as Cloud Hypervisor does. */
export interface ConsoleConfig {
  mode: ConsoleMode;
  file?: string;
  /** Socket mode: the UNIX socket clients attach to. */
  socket?: string;
  /** Tcp mode: HOST:PORT to listen on (loopback when only a port is given; port 0 picks one). */
  tcp?: string;
}

export interface PayloadConfig {
  kernel?: string;
  initramfs?: string;
  cmdline?: string;
  firmware?: string;
}

export interface CpusConfig {
  boot_vcpus: number;
  max_vcpus: number;
}

export interface MemoryConfig {
  size: number;
}

export interface RngConfig {
  /** The host file the device reads entropy from. */
  src: string;
}

export interface DiskConfig {
  path: string;
  readonly?: boolean;
  /** O_DIRECT: bypass the host page cache. */
  direct?: boolean;
  /** The device id (counters, GET_ID serial); defaults to _disk<N>. */
  id?: string;
}

/**
 * A virtio-net device and its host side: a TAP interface (the default; one
 * is created when `tap` is empty or absent), or a UDP tunnel when `remote`
 * is set: each Ethernet frame travels as one datagram from `local` to `remote`.
 */
export interface NetConfig {
  tap?: string;
  /** IPv4 address and netmask given to the TAP interface on the host. */
  ip?: string;
  mask?: string;
  /** The guest's MAC address; a random local one when absent. */
  mac?: string;
  /** The device id (counters); defaults to _net<N>. */
  id?: string;
  /** UDP tunnel: HOST:PORT to bind (port 0 picks a free one); defaults to the remote's any-address, port 0. */
  local?: string;
  /** UDP tunnel: HOST:PORT frames are sent to, and the only source accepted. */
  remote?: string;
}

export interface VmConfig {
  payload: PayloadConfig;
  cpus: CpusConfig;
  memory: MemoryConfig;
  serial: ConsoleConfig;
  console: ConsoleConfig;
  rng?: RngConfig;
  disks?: DiskConfig[];
  net?: NetConfig[];
}

/** APIC IDs are 8 bits in the MP table and the xAPIC; 255 is broadcast. */
export const MAX_VCPUS = 254;
export const MIN_MEMORY = 16 * 1024 * 1024;
export const MAX_MEMORY = 1024 ** 4;
export const DEFAULT_MEMORY = 512 * 1024 * 1024;

export function defaultVmConfig(): VmConfig {
  return {
    payload: {},
    cpus: { boot_vcpus: 1, max_vcpus: 1 },
    memory: { size: DEFAULT_MEMORY },
    serial: { mode: 'Tty' },
    console: { mode: 'Off' },
  };
}

/** `--cpus boot=2,max=4` */
export function parseCpus(text: string): CpusConfig {
  const values = parseOptionString('--cpus', text, ['boot', 'max']);
  const bootText = values.get('boot');
  const boot = bootText === undefined ? 1 : parseInteger('--cpus', 'boot', bootText, 1, MAX_VCPUS);
  const maxText = values.get('max');
  const max = maxText === undefined ? boot : parseInteger('--cpus', 'max', maxText, 1, MAX_VCPUS);
  return { boot_vcpus: boot, max_vcpus: max };
}

/** `--memory size=512M` */
export function parseMemory(text: string): MemoryConfig {
  const values = parseOptionString('--memory', text, ['size']);
  const sizeText = values.get('size');
  if (sizeText === undefined) throw new ConfigError('--memory: size is required');
  return { size: parseSize('--memory', 'size', sizeText) };
}

/** `--disk path=F,readonly=on|off,direct=on|off,id=ID` */
export function parseDisk(text: string): DiskConfig {
  const values = parseOptionString('--disk', text, ['path', 'readonly', 'direct', 'id']);
  const path = values.get('path');
  if (!path) throw new ConfigError('--disk: path= is required');
  const disk: DiskConfig = { path };
  const readonly = values.get('readonly');
  if (readonly !== undefined) disk.readonly = parseOnOff('--disk', 'readonly', readonly);
  const direct = values.get('direct');
  if (direct !== undefined) disk.direct = parseOnOff('--disk', 'direct', direct);
  const id = values.get('id');
  if (id !== undefined) {
    if (id === '') throw new ConfigError('--disk: id= needs a value');
    disk.id = id;
  }
  return disk;
}

const NET_KEYS = ['tap', 'ip', 'mask', 'mac', 'id', 'local', 'remote'] as const;

/** `--net tap=NAME,ip=IP,mask=MASK,mac=MAC,id=ID` or `--net remote=HOST:PORT,local=HOST:PORT,mac=MAC,id=ID` */
export function parseNet(text: string): NetConfig {
  const values = parseOptionString('--net', text, NET_KEYS);
  const net: NetConfig = {};
  for (const key of NET_KEYS) {
    const value = values.get(key);
    if (value === undefined) continue;
    if (value === '' && key !== 'tap') throw new ConfigError(`--net: ${key}= needs a value`);
    net[key] = value;
  }
  validateNet(net, '--net');
  return net;
}

/** The rules for one NIC, whichever frontend wrote it. */
export function validateNet(net: NetConfig, field: string): void {
  if (net.mac !== undefined) parseMac(`${field} mac`, net.mac);
  if (net.remote !== undefined) {
    for (const key of ['tap', 'ip', 'mask'] as const) {
      if (net[key] !== undefined) throw new ConfigError(`${field}: ${key} is for TAP interfaces; a UDP tunnel (remote=) has none`);
    }
    const remote = parseEndpoint(`${field} remote`, net.remote);
    if (remote.port === 0) throw new ConfigError(`${field}: the remote port must not be 0`);
    if (net.local !== undefined && parseEndpoint(`${field} local`, net.local).family !== remote.family) {
      throw new ConfigError(`${field}: local and remote must both be IPv4 or both IPv6`);
    }
    return;
  }
  if (net.local !== undefined) throw new ConfigError(`${field}: local= is for UDP tunnels and needs remote=`);
  if (net.tap !== undefined && Buffer.byteLength(net.tap) > 15) throw new ConfigError(`${field}: tap name "${net.tap}" is longer than 15 bytes`);
  if (net.ip !== undefined) checkIPv4(`${field} ip`, net.ip);
  if (net.mask !== undefined) checkIPv4(`${field} mask`, net.mask);
}

/** `--rng src=/dev/urandom` */
export function parseRng(text: string): RngConfig {
  const values = parseOptionString('--rng', text, ['src']);
  const src = values.get('src') ?? '/dev/urandom';
  if (src === '') throw new ConfigError('--rng: src= needs a path');
  return { src };
}

/** `--serial off|null|tty|pty|file=PATH|socket=PATH|tcp=[HOST:]PORT` (the same grammar for --console). */
export function parseConsole(option: string, text: string): ConsoleConfig {
  switch (text) {
    case 'off': return { mode: 'Off' };
    case 'null': return { mode: 'Null' };
    case 'tty': return { mode: 'Tty' };
    case 'pty': return { mode: 'Pty' };
  }
  const [key, ...rest] = text.split('=');
  const value = rest.join('=');
  const modes: Record<string, ConsoleConfig> = {
    file: { mode: 'File', file: value },
    socket: { mode: 'Socket', socket: value },
    tcp: { mode: 'Tcp', tcp: value },
  };
  const config = rest.length > 0 && key !== undefined ? modes[key] : undefined;
  if (!config) throw new ConfigError(`${option}: "${text}" is not one of off, null, tty, pty, file=PATH, socket=PATH, tcp=[HOST:]PORT`);
  if (value === '') throw new ConfigError(`${option}: ${key}= needs a value`);
  validateConsole(config, option);
  return config;
}

/** `tcp=PORT` means loopback; `tcp=HOST:PORT` names the address (IP literals only). */
export function parseTcpConsole(field: string, text: string): Endpoint {
  return parseEndpoint(field, /^\d+$/.test(text) ? `127.0.0.1:${text}` : text);
}

/** The rules for one console, whichever frontend wrote it. */
export function validateConsole(config: ConsoleConfig, field: string): void {
  const needs: Partial<Record<ConsoleMode, 'file' | 'socket' | 'tcp'>> = { File: 'file', Socket: 'socket', Tcp: 'tcp' };
  const key = needs[config.mode];
  if (key && !config[key]) throw new ConfigError(`${field}: ${config.mode} mode needs ${key}`);
  if (config.mode === 'Tcp') parseTcpConsole(`${field} tcp`, config.tcp ?? '');
}

/** The serial port and the virtio console cannot share the tty, a socket or a fixed tcp port (port 0 is two ports). */
function checkConsolesApart(serial: ConsoleConfig, console: ConsoleConfig): void {
  if (serial.mode !== console.mode) return;
  if (serial.mode === 'Tty') throw new ConfigError('serial and console cannot both use the tty');
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
  if (cpus.boot_vcpus < 1 || cpus.boot_vcpus > MAX_VCPUS) {
    throw new ConfigError(`cpus.boot_vcpus must be between 1 and ${MAX_VCPUS}`);
  }
  if (cpus.max_vcpus < cpus.boot_vcpus || cpus.max_vcpus > MAX_VCPUS) {
    throw new ConfigError(`cpus.max_vcpus (${cpus.max_vcpus}) must be between boot_vcpus (${cpus.boot_vcpus}) and ${MAX_VCPUS}`);
  }
  if (cpus.max_vcpus !== cpus.boot_vcpus) {
    throw new ConfigError('cpus.max_vcpus above boot_vcpus needs CPU hotplug, which is not supported');
  }
  if (memory.size < MIN_MEMORY || memory.size > MAX_MEMORY || memory.size % 4096 !== 0) {
    throw new ConfigError(`memory.size must be a multiple of 4 KiB between ${MIN_MEMORY / 2 ** 20} MiB and 1 TiB`);
  }
  if (payload.firmware !== undefined) throw new ConfigError('payload.firmware is not supported: boot a kernel');
  if (payload.kernel === undefined) throw new ConfigError('payload.kernel is required');
  validateConsole(config.serial, 'serial');
  validateConsole(config.console, 'console');
  checkConsolesApart(config.serial, config.console);
  (config.net ?? []).forEach((net, i) => validateNet(net, `net[${i}]`));
  checkDeviceIds(config);
}

/** Device ids name counters and (later) hot-unplug, so no two may be equal. */
function checkDeviceIds(config: VmConfig): void {
  const seen = new Set<string>();
  for (const { id } of [...(config.disks ?? []), ...(config.net ?? [])]) {
    if (id === undefined) continue;
    if (seen.has(id)) throw new ConfigError(`device id "${id}" is used twice`);
    if (id.startsWith('_')) throw new ConfigError(`device id "${id}": ids starting with _ are reserved for defaults`);
    seen.add(id);
  }
}

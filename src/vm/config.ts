// VmConfig: what a VM is made of, shared by the CLI and (later) the REST API.
// Field names follow Cloud Hypervisor's VmConfig so JSON bodies match.
import { ConfigError } from '../util/errors.js';
import { parseInteger, parseOnOff, parseOptionString, parseSize } from './option-string.js';

export type ConsoleMode = 'Off' | 'Null' | 'Tty' | 'File';

export interface ConsoleConfig {
  mode: ConsoleMode;
  file?: string;
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

export interface VmConfig {
  payload: PayloadConfig;
  cpus: CpusConfig;
  memory: MemoryConfig;
  serial: ConsoleConfig;
  console: ConsoleConfig;
  rng?: RngConfig;
  disks?: DiskConfig[];
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

/** `--rng src=/dev/urandom` */
export function parseRng(text: string): RngConfig {
  const values = parseOptionString('--rng', text, ['src']);
  const src = values.get('src') ?? '/dev/urandom';
  if (src === '') throw new ConfigError('--rng: src= needs a path');
  return { src };
}

/** `--serial off|null|tty|file=PATH` (the same grammar for --console). */
export function parseConsole(option: string, text: string): ConsoleConfig {
  switch (text) {
    case 'off': return { mode: 'Off' };
    case 'null': return { mode: 'Null' };
    case 'tty': return { mode: 'Tty' };
  }
  if (text.startsWith('file=')) {
    const file = text.slice('file='.length);
    if (file === '') throw new ConfigError(`${option}: file= needs a path`);
    return { mode: 'File', file };
  }
  throw new ConfigError(`${option}: "${text}" is not one of off, null, tty, file=PATH`);
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
  if (config.console.mode !== 'Off') {
    throw new ConfigError('console: the virtio console is not implemented yet; use --console off and --serial');
  }
  if (config.serial.mode === 'File' && !config.serial.file) throw new ConfigError('serial: File mode needs a file');
}

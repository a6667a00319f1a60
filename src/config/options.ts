// Cloud Hypervisor's option strings (`--disk path=F,readonly=on`) turned
// into VmConfig sections. Every key Cloud Hypervisor's parser knows is
// known here and lands on its VmConfig field, so what tsvmm does not
// implement is refused by the same check as an API body, naming the field.
// Keys whose values have no simple field (rate limiters, affinities) are
// refused here. Nothing is validated beyond the value's syntax.
import { ConfigError } from '../util/errors.js';
import { parseInteger, parseOnOff, parseOptionString, parseSize, splitTopLevel } from './option-string.js';
import {
  DEFAULT_MEMORY, DEFAULT_RNG_SOURCE, type ConsoleConfig, type CpusConfig, type DiskConfig, type MemoryConfig, type NetConfig,
  type RestoreConfigBody, type RngConfig, type SerialConfig, type VmConfigBody, type VsockConfig,
} from './schema.js';

type Convert = (option: string, key: string, text: string) => unknown;
/** Where a key's value goes (a field of the section) and how it is read; `refuse` for keys tsvmm cannot honour. */
type KeySpec = { field: string; convert: Convert } | 'refuse';
type KeyTable = Record<string, KeySpec>;

const text: Convert = (_option, _key, value) => value;
const toggle: Convert = parseOnOff;
const integer: Convert = (option, key, value) => parseInteger(option, key, value, 0, Number.MAX_SAFE_INTEGER);
const size: Convert = parseSize;
function oneOf(words: Record<string, string>): Convert {
  return (option, key, value) => {
    const word = words[value.toLowerCase()];
    if (word === undefined) throw new ConfigError(`${option}: ${key}="${value}" is not one of ${Object.keys(words).join(', ')}`);
    return word;
  };
}
const as = (field: string, convert: Convert): KeySpec => ({ field, convert });
const same = (convert: Convert) => (fields: string[]): KeyTable => Object.fromEntries(fields.map((field) => [field, as(field, convert)]));

const RATE_LIMIT_KEYS: KeyTable = Object.fromEntries(
  ['bw_size', 'bw_one_time_burst', 'bw_refill_time', 'ops_size', 'ops_one_time_burst', 'ops_refill_time'].map((key) => [key, 'refuse']),
);
const PCI_KEYS: KeyTable = {
  id: as('id', text), iommu: as('iommu', toggle), pci_segment: as('pci_segment', integer), pci_device_id: as('pci_device_id', integer),
};

const CPUS_KEYS: KeyTable = {
  boot: as('boot_vcpus', integer), max: as('max_vcpus', integer), topology: 'refuse', affinity: 'refuse',
  kvm_hyperv: as('kvm_hyperv', toggle), max_phys_bits: as('max_phys_bits', integer), nested: as('nested', toggle),
  features: as('features', (option, key, value) => {
    if (value.toLowerCase() !== 'amx') throw new ConfigError(`${option}: ${key}="${value}" is not a CPU feature (amx)`);
    return { amx: true };
  }),
  core_scheduling: as('core_scheduling', oneOf({ vm: 'Vm', vcpu: 'Vcpu', off: 'Off' })),
  profile: as('profile', oneOf({ host: 'Host' })),
};

const MEMORY_KEYS: KeyTable = {
  size: as('size', size), file: 'refuse',
  ...same(toggle)(['mergeable', 'shared', 'hugepages', 'prefault', 'reserve', 'thp']),
  ...same(size)(['hotplug_size', 'hotplugged_size', 'hugepage_size']),
  hotplug_method: as('hotplug_method', oneOf({ acpi: 'Acpi', 'virtio-mem': 'VirtioMem' })),
};

const DISK_KEYS: KeyTable = {
  path: as('path', text), serial: as('serial', text), socket: as('vhost_socket', text), rate_limit_group: as('rate_limit_group', text),
  ...same(toggle)(['readonly', 'direct', 'vhost_user', 'backing_files', 'sparse']),
  _disable_io_uring: as('disable_io_uring', toggle), _disable_aio: as('disable_aio', toggle),
  ...same(integer)(['queue_size', 'num_queues']),
  queue_affinity: 'refuse',
  image_type: as('image_type', oneOf({ raw: 'Raw', qcow2: 'Qcow2', vhd: 'FixedVhd', vhdx: 'Vhdx' })),
  lock_granularity: as('lock_granularity', oneOf({ 'byte-range': 'ByteRange', full: 'Full' })),
  ...RATE_LIMIT_KEYS, ...PCI_KEYS,
};

const NET_KEYS: KeyTable = {
  ...same(text)(['tap', 'ip', 'mask', 'mac', 'host_mac', 'local', 'remote']),
  ...same(toggle)(['offload_tso', 'offload_ufo', 'offload_csum', 'vhost_user']),
  ...same(integer)(['mtu', 'queue_size', 'num_queues']),
  socket: as('vhost_socket', text), vhost_mode: as('vhost_mode', oneOf({ client: 'Client', server: 'Server' })), fd: 'refuse',
  ...RATE_LIMIT_KEYS, ...PCI_KEYS,
};

const RNG_KEYS: KeyTable = { src: as('src', text), ...PCI_KEYS };
const VSOCK_KEYS: KeyTable = { cid: as('cid', integer), socket: as('socket', text), ...PCI_KEYS };

const PLATFORM_KEYS: KeyTable = {
  num_pci_segments: as('num_pci_segments', integer), iommu_address_width: as('iommu_address_width_bits', integer),
  serial_number: as('system_serial_number', text), uuid: as('system_uuid', text),
  iommufd: as('iommufd', toggle), tdx: as('tdx', toggle), sev_snp: as('sev_snp', toggle),
  iommu_segments: 'refuse', oem_strings: 'refuse', iommufd_fd: 'refuse',
};

const NETWORK_OVERRIDE_KEYS: KeyTable = same(text)(['tap', 'ip', 'mask', 'local', 'remote']);

/** `[ID@[key=value,...],...]`, the shape of Cloud Hypervisor's `net_fds=[net1@[23,24]]`. */
const networkOverrides: Convert = (option, key, value) => {
  const list = /^\[(.*)\]$/s.exec(value)?.[1];
  if (list === undefined) throw new ConfigError(`${option}: ${key} is a list: ${key}=[ID@[tap=T],ID@[local=HOST:PORT,remote=HOST:PORT]]`);
  if (list.trim() === '') return [];
  return splitTopLevel(list, option).map((item) => {
    const match = /^([^@[\]]+)@\[(.*)\]$/s.exec(item.trim());
    if (!match) throw new ConfigError(`${option}: ${key}: "${item}" is not ID@[key=value,...]`);
    return { id: match[1], ...readSection(`${option} ${key} ${match[1]}`, match[2] ?? '', NETWORK_OVERRIDE_KEYS).section };
  });
};

const RESTORE_KEYS: KeyTable = {
  source_url: as('source_url', text), prefault: as('prefault', toggle), resume: as('resume', toggle),
  network_overrides: as('network_overrides', networkOverrides),
  memory_restore_mode: as('memory_restore_mode', oneOf({ copy: 'Copy', ondemand: 'OnDemand' })),
  net_fds: 'refuse', vfio_fds: 'refuse', iommufd_fd: 'refuse', zone_updates: 'refuse',
};

const SEND_MIGRATION_KEYS: KeyTable = {
  destination_url: as('destination_url', text), local: as('local', toggle), preserve_source: as('preserve_source', toggle),
  ...same(integer)(['downtime_ms', 'timeout_s', 'connections']),
  timeout_strategy: as('timeout_strategy', oneOf({ cancel: 'Cancel', ignore: 'Ignore' })),
  memory_mode: as('memory_mode', oneOf({ precopy: 'Precopy', postcopy: 'Postcopy' })),
  tls_dir: 'refuse',
};

const RECEIVE_MIGRATION_KEYS: KeyTable = {
  receiver_url: as('receiver_url', text), network_overrides: as('network_overrides', networkOverrides),
  memory_mode: as('memory_mode', oneOf({ precopy: 'Precopy', postcopy: 'Postcopy' })),
  tls_dir: 'refuse', vfio_fds: 'refuse', iommufd_fd: 'refuse', zone_updates: 'refuse',
};

const DEBUG_CONSOLE_KEYS: KeyTable = { file: as('file', text), iobase: as('iobase', integer) };

/** Reads `input` with `table`; `valueless` words are handed back separately. */
function readSection(option: string, input: string, table: KeyTable, valueless: readonly string[] = []) {
  const values = parseOptionString(option, input, Object.keys(table), valueless);
  const section: Record<string, unknown> = {};
  const words: string[] = [];
  for (const [key, value] of values) {
    if (valueless.includes(key)) {
      words.push(key);
      continue;
    }
    const spec = table[key] as KeySpec;
    if (spec === 'refuse') throw new ConfigError(`${option}: ${key}=${value} is not supported by tsvmm`, { code: 'UnsupportedField' });
    section[spec.field] = spec.convert(option, key, value);
  }
  return { section, words };
}

/** `--cpus boot=2,max=2,...`: max defaults to boot. */
export function parseCpus(input: string): CpusConfig {
  const { section } = readSection('--cpus', input, CPUS_KEYS);
  const boot = (section.boot_vcpus as number | undefined) ?? 1;
  return { ...section, boot_vcpus: boot, max_vcpus: (section.max_vcpus as number | undefined) ?? boot } as CpusConfig;
}

/** `--memory size=512M,...` */
export function parseMemory(input: string): MemoryConfig {
  const { section } = readSection('--memory', input, MEMORY_KEYS);
  return { size: DEFAULT_MEMORY, ...section } as MemoryConfig;
}

/** `--disk path=F,readonly=on,...` */
export function parseDisk(input: string): DiskConfig {
  const { section } = readSection('--disk', input, DISK_KEYS);
  if (section.path === undefined) throw new ConfigError('--disk: path is required');
  return section as DiskConfig;
}

/** `--net tap=T,mac=M,...`, or tsvmm's UDP tunnel `--net remote=HOST:PORT,local=HOST:PORT,...` */
export function parseNet(input: string): NetConfig {
  return readSection('--net', input, NET_KEYS).section as NetConfig;
}

/** `--rng src=/dev/urandom` */
export function parseRng(input: string): RngConfig {
  const { section } = readSection('--rng', input, RNG_KEYS);
  return { src: DEFAULT_RNG_SOURCE, ...section } as RngConfig;
}

/** `--vsock cid=3,socket=/path/vsock.sock[,id=ID]` */
export function parseVsock(input: string): VsockConfig {
  const { section } = readSection('--vsock', input, VSOCK_KEYS);
  if (section.socket === undefined) throw new ConfigError('--vsock: socket is required');
  if (section.cid === undefined) throw new ConfigError('--vsock: cid is required');
  return section as VsockConfig;
}

/** `--restore source_url=file:///DIR[,prefault=on][,memory_restore_mode=copy|ondemand][,resume=on][,network_overrides=[ID@[...]]]` */
export function parseRestore(input: string): RestoreConfigBody {
  const { section } = readSection('--restore', input, RESTORE_KEYS);
  if (section.source_url === undefined) throw new ConfigError('--restore: source_url is required');
  return section as RestoreConfigBody;
}

/** A URL alone stands for `key=URL`, as older ch-remote took it. */
function urlOrOptions(key: string, input: string): string {
  return /^(unix|tcp):/.test(input) && !input.includes(',') ? `${key}=${input}` : input;
}

/** ch-remote's `send-migration destination_url=URL[,downtime_ms=N,timeout_s=N,timeout_strategy=cancel|ignore,...]` */
export function parseSendMigration(input: string): Record<string, unknown> {
  const { section } = readSection('send-migration', urlOrOptions('destination_url', input), SEND_MIGRATION_KEYS);
  if (section.destination_url === undefined) throw new ConfigError('send-migration: destination_url is required');
  return section;
}

/** ch-remote's `receive-migration receiver_url=URL` */
export function parseReceiveMigration(input: string): Record<string, unknown> {
  const { section } = readSection('receive-migration', urlOrOptions('receiver_url', input), RECEIVE_MIGRATION_KEYS);
  if (section.receiver_url === undefined) throw new ConfigError('receive-migration: receiver_url is required');
  return section;
}

/** `--platform ...` */
export function parsePlatform(input: string): NonNullable<VmConfigBody['platform']> {
  return readSection('--platform', input, PLATFORM_KEYS).section;
}

const MODE_WORDS = { off: 'Off', null: 'Null', tty: 'Tty', pty: 'Pty' } as const;
const MODE_FILES = { file: 'File', socket: 'Socket', tcp: 'Tcp' } as const;

/** The output mode of a console option string: a bare word, or the key naming where the output goes. */
function consoleMode(option: string, input: string, section: Record<string, unknown>, words: string[]): SerialConfig['mode'] {
  const modes = [
    ...words.map((word) => MODE_WORDS[word as keyof typeof MODE_WORDS]),
    ...Object.entries(MODE_FILES).filter(([key]) => section[key] !== undefined).map(([, mode]) => mode),
  ];
  if (modes.length !== 1) {
    throw new ConfigError(`${option}: "${input}" must give one of off, null, tty, pty, file=PATH, socket=PATH, tcp=[HOST:]PORT`);
  }
  return modes[0] as SerialConfig['mode'];
}

/** `--serial off|null|tty|pty|file=PATH|socket=PATH|tcp=[HOST:]PORT` */
export function parseSerial(input: string): SerialConfig {
  const table = same(text)(['file', 'socket', 'tcp']);
  const { section, words } = readSection('--serial', input, table, Object.keys(MODE_WORDS));
  return { mode: consoleMode('--serial', input, section, words), ...section };
}

/** `--console MODE[,iommu=on|off][,id=ID]...`: the modes of --serial. */
export function parseConsole(input: string): ConsoleConfig {
  const table = { ...same(text)(['file', 'socket', 'tcp']), ...PCI_KEYS };
  const { section, words } = readSection('--console', input, table, Object.keys(MODE_WORDS));
  return { mode: consoleMode('--console', input, section, words), ...section };
}

/** `--debug-console off|tty|pty|null|file=PATH[,iobase=PORT]` */
export function parseDebugConsole(input: string): NonNullable<VmConfigBody['debug_console']> {
  const { section, words } = readSection('--debug-console', input, DEBUG_CONSOLE_KEYS, Object.keys(MODE_WORDS));
  const mode = section.file !== undefined ? 'File' : MODE_WORDS[words[0] as keyof typeof MODE_WORDS] ?? 'Off';
  return { ...section, mode } as NonNullable<VmConfigBody['debug_console']>;
}

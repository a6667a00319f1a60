// VmConfig as TypeBox schemas: every section and field of Cloud Hypervisor's
// VmConfig (v53.0, vmm/src/vm_config.rs and its OpenAPI document), with
// Cloud Hypervisor's defaults. The one source of truth for config shapes:
// the TypeScript types are `Static<>` of these, requests are validated
// against them, and openapi/tsvmm.json is generated from them.
//
// Each field says what tsvmm does with it (the `x-tsvmm` keyword, also in
// the OpenAPI document): nothing means implemented; `default-only` means
// accepted at Cloud Hypervisor's default only; `unsupported` means accepted
// only when absent, null or an empty list. `support.ts` enforces both.
import { Type, type Static, type TLiteral, type TSchema, type TUnion, type TUnsafe } from '@sinclair/typebox';

export const SUPPORT_KEYWORD = 'x-tsvmm';
export type Support = 'default-only' | 'unsupported';

/** APIC IDs are 8 bits in the MP table and the xAPIC; 255 is broadcast. */
export const MAX_VCPUS = 254;
export const MIN_MEMORY = 16 * 1024 * 1024;
export const MAX_MEMORY = 1024 ** 4;
export const DEFAULT_MEMORY = 512 * 1024 * 1024;
export const DEFAULT_RNG_SOURCE = '/dev/urandom';
export const MAX_DEVICES_PER_KIND = 16;
/** virtio-mmio devices each have a GSI: 5..22 of the IOAPIC's 24 pins (23 is the ACPI Generic Event Device's). */
export const MAX_VIRTIO_DEVICES = 18;

const strict = { additionalProperties: false } as const;

/** A `$ref` to a named schema that keeps the referenced schema's static type. */
export function refTo<T extends TSchema>(schema: T): TUnsafe<Static<T>> {
  return Type.Unsafe<Static<T>>(Type.Ref(schema.$id as string));
}

/** A Cloud Hypervisor field tsvmm does not implement: only its default is accepted. */
function defaultOnly<T extends TSchema>(schema: T, value: Static<T>) {
  return Type.Optional({ ...schema, default: value, [SUPPORT_KEYWORD]: 'default-only' } as T);
}

/** A Cloud Hypervisor field tsvmm does not implement and that has no default: only absent (or null, or []) is accepted. */
function unsupported<T extends TSchema>(schema: T) {
  return Type.Optional({ ...schema, [SUPPORT_KEYWORD]: 'unsupported' } as T);
}

function withDefault<T extends TSchema>(schema: T, value: Static<T>) {
  return Type.Optional({ ...schema, default: value } as T);
}

type Literals<T extends readonly string[]> = { -readonly [K in keyof T]: TLiteral<T[K]> };

function literals<const T extends readonly string[]>(values: T, options: Record<string, unknown> = {}): TUnion<Literals<T>> {
  return Type.Union(values.map((value) => Type.Literal(value)), options) as unknown as TUnion<Literals<T>>;
}

const u8 = Type.Integer({ minimum: 0, maximum: 255 });
const u16 = Type.Integer({ minimum: 0, maximum: 65535 });
const u64 = Type.Integer({ minimum: 0 });
const anyObject = Type.Object({});
const anyList = Type.Array(Type.Unknown());

/** The PCI fields every Cloud Hypervisor device shares; tsvmm's devices are virtio-mmio, so none of them applies. */
const pciFields = {
  iommu: defaultOnly(Type.Boolean(), false),
  pci_segment: defaultOnly(u16, 0),
  pci_device_id: unsupported(u8),
};

const deviceId = Type.Optional(Type.String({ minLength: 1, description: 'Unique among the devices; tsvmm fills in _disk<N>, _net<N>' }));

export const PayloadConfigSchema = Type.Object({
  kernel: Type.Optional(Type.String({ minLength: 1, description: 'ELF vmlinux with a PVH note, or bzImage' })),
  initramfs: Type.Optional(Type.String({ minLength: 1 })),
  cmdline: Type.Optional(Type.String()),
  firmware: unsupported(Type.String()),
  igvm: unsupported(Type.String()),
  host_data: unsupported(Type.String()),
  fw_cfg_config: unsupported(anyObject),
}, { ...strict, $id: 'PayloadConfig', description: 'What the guest boots' });

export const CpuTopologySchema = Type.Object({
  threads_per_core: u16,
  cores_per_die: u16,
  dies_per_package: u16,
  packages: u16,
}, { ...strict, $id: 'CpuTopology' });

export const CpusConfigSchema = Type.Object({
  boot_vcpus: Type.Integer({ minimum: 1, maximum: MAX_VCPUS }),
  max_vcpus: Type.Integer({ minimum: 1, maximum: MAX_VCPUS }),
  topology: unsupported(refTo(CpuTopologySchema)),
  kvm_hyperv: defaultOnly(Type.Boolean(), false),
  max_phys_bits: defaultOnly(u8, 46),
  affinity: unsupported(anyList),
  features: withDefault(Type.Object({ amx: defaultOnly(Type.Boolean(), false) }, strict), { amx: false }),
  nested: withDefault(Type.Boolean({ description: "false hides the host CPU's SVM/VMX from the guest" }), true),
  core_scheduling: defaultOnly(literals(['Vm', 'Vcpu', 'Off']), 'Vm'),
  profile: defaultOnly(literals(['Host']), 'Host'),
}, { ...strict, $id: 'CpusConfig' });

export const MemoryConfigSchema = Type.Object({
  size: Type.Integer({ minimum: MIN_MEMORY, maximum: MAX_MEMORY, description: 'Bytes, a multiple of 4096' }),
  mergeable: defaultOnly(Type.Boolean(), false),
  hotplug_method: defaultOnly(literals(['Acpi', 'VirtioMem']), 'Acpi'),
  hotplug_size: unsupported(u64),
  hotplugged_size: unsupported(u64),
  shared: defaultOnly(Type.Boolean(), false),
  hugepages: defaultOnly(Type.Boolean(), false),
  hugepage_size: unsupported(u64),
  prefault: defaultOnly(Type.Boolean(), false),
  reserve: defaultOnly(Type.Boolean(), false),
  zones: unsupported(anyList),
  thp: defaultOnly(Type.Boolean(), true),
}, { ...strict, $id: 'MemoryConfig' });

const CONSOLE_MODES = ['Off', 'Null', 'Tty', 'File', 'Pty', 'Socket', 'Tcp'] as const;
const consoleFields = {
  mode: literals(CONSOLE_MODES, { description: 'Tcp is tsvmm\'s own' }),
  file: Type.Optional(Type.String({ minLength: 1, description: 'File mode: the output file. Pty mode, in vm.info: the pty path' })),
  socket: Type.Optional(Type.String({ minLength: 1, description: 'Socket mode: the UNIX socket clients attach to' })),
  tcp: Type.Optional(Type.String({ minLength: 1, description: 'Tcp mode (tsvmm only): [HOST:]PORT, loopback by default; port 0 picks one (vm.info shows it)' })),
};

export const SerialConfigSchema = Type.Object(consoleFields, { ...strict, $id: 'SerialConfig', description: 'The 16550 UART (COM1)' });

export const ConsoleConfigSchema = Type.Object({
  ...consoleFields,
  ...pciFields,
  id: deviceId,
}, { ...strict, $id: 'ConsoleConfig', description: 'The virtio console (hvc0)' });

export const DebugConsoleConfigSchema = Type.Object({
  mode: defaultOnly(literals(CONSOLE_MODES), 'Off'),
  file: unsupported(Type.String()),
  iobase: defaultOnly(u16, 0xe9),
}, { ...strict, $id: 'DebugConsoleConfig' });

export const VsockConfigSchema = Type.Object({
  cid: Type.Integer({ minimum: 3, maximum: 0xfffffffe, description: "The guest's context id (0-2 and 2^32-1 are reserved)" }),
  socket: Type.String({ minLength: 1, description: 'UNIX socket tsvmm listens on for CONNECT <port>; guest connections to host port P go to <socket>_P' }),
  ...pciFields,
  id: deviceId,
}, { ...strict, $id: 'VsockConfig', description: 'virtio-vsock, bridged to UNIX sockets (hybrid vsock)' });

export const RngConfigSchema = Type.Object({
  src: Type.String({ minLength: 1, description: 'Host file read for entropy, e.g. /dev/urandom' }),
  ...pciFields,
  id: deviceId,
}, { ...strict, $id: 'RngConfig' });

export const DiskConfigSchema = Type.Object({
  path: Type.String({ minLength: 1, description: 'A raw image' }),
  readonly: withDefault(Type.Boolean(), false),
  direct: withDefault(Type.Boolean({ description: 'O_DIRECT' }), false),
  id: deviceId,
  serial: Type.Optional(Type.String({ description: 'What VIRTIO_BLK_T_GET_ID answers (20 bytes at most); the id when absent' })),
  num_queues: defaultOnly(Type.Integer(), 1),
  queue_size: withDefault(Type.Integer({ minimum: 2, maximum: 32768, description: 'A power of two' }), 128),
  vhost_user: defaultOnly(Type.Boolean(), false),
  vhost_socket: unsupported(Type.String()),
  rate_limit_group: unsupported(Type.String()),
  rate_limiter_config: unsupported(anyObject),
  queue_affinity: unsupported(anyList),
  backing_files: defaultOnly(Type.Boolean(), false),
  sparse: defaultOnly(Type.Boolean(), true),
  image_type: withDefault(literals(['FixedVhd', 'Qcow2', 'Raw', 'Vhdx', 'Unknown'], {
    description: 'Raw, or Unknown (probed: tsvmm knows raw only)',
  }), 'Unknown'),
  lock_granularity: defaultOnly(literals(['ByteRange', 'Full']), 'ByteRange'),
  disable_io_uring: defaultOnly(Type.Boolean(), false),
  disable_aio: defaultOnly(Type.Boolean(), false),
  ...pciFields,
}, { ...strict, $id: 'DiskConfig' });

const ENDPOINT = '^(\\[[0-9A-Fa-f:.]+\\]|[0-9.]+):[0-9]{1,5}$';
const MAC = '^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$';

export const NetConfigSchema = Type.Object({
  tap: Type.Optional(Type.String({ maxLength: 15, description: 'TAP interface; created when empty or absent (and remote is not set)' })),
  ip: Type.Optional(Type.String({ minLength: 1, description: 'IPv4 address given to the TAP interface on the host' })),
  mask: Type.Optional(Type.String({ minLength: 1, description: 'IPv4 netmask of the TAP interface' })),
  mac: Type.Optional(Type.String({ pattern: MAC, description: "The guest's MAC; random when absent" })),
  id: deviceId,
  mtu: Type.Optional(Type.Integer({ minimum: 68, maximum: 65535, description: 'Offered to the guest (VIRTIO_NET_F_MTU)' })),
  local: Type.Optional(Type.String({ pattern: ENDPOINT, description: 'tsvmm only. UDP tunnel: HOST:PORT bound; port 0 picks one (vm.info shows it)' })),
  remote: Type.Optional(Type.String({ pattern: ENDPOINT, description: 'tsvmm only. UDP tunnel: HOST:PORT frames go to; selects the UDP backend' })),
  host_mac: unsupported(Type.String({ pattern: MAC })),
  num_queues: defaultOnly(Type.Integer(), 2),
  queue_size: withDefault(Type.Integer({ minimum: 2, maximum: 32768, description: 'A power of two' }), 256),
  vhost_user: defaultOnly(Type.Boolean(), false),
  vhost_socket: unsupported(Type.String()),
  vhost_mode: defaultOnly(literals(['Client', 'Server']), 'Client'),
  fds: unsupported(anyList),
  rate_limiter_config: unsupported(anyObject),
  offload_tso: defaultOnly(Type.Boolean(), true),
  offload_ufo: defaultOnly(Type.Boolean(), true),
  offload_csum: defaultOnly(Type.Boolean(), true),
  ...pciFields,
}, { ...strict, $id: 'NetConfig' });

export const PlatformConfigSchema = Type.Object({
  num_pci_segments: defaultOnly(u16, 1),
  iommu_segments: unsupported(anyList),
  iommu_address_width_bits: defaultOnly(u8, 64),
  system_serial_number: unsupported(Type.String()),
  serial_number: unsupported(Type.String()),
  system_uuid: unsupported(Type.String()),
  uuid: unsupported(Type.String()),
  oem_strings: unsupported(anyList),
  system_manufacturer: unsupported(Type.String()),
  system_product_name: unsupported(Type.String()),
  system_version: unsupported(Type.String()),
  system_family: unsupported(Type.String()),
  system_sku_number: unsupported(Type.String()),
  chassis_asset_tag: unsupported(Type.String()),
  tdx: defaultOnly(Type.Boolean(), false),
  sev_snp: defaultOnly(Type.Boolean(), false),
  iommufd: defaultOnly(Type.Boolean(), false),
  iommufd_fd: unsupported(Type.Integer()),
  vfio_p2p_dma: defaultOnly(Type.Boolean(), true),
}, { ...strict, $id: 'PlatformConfig' });

/** vm.create's body. Sections left out (or null) take Cloud Hypervisor's defaults: serial Null, console Tty, an rng on /dev/urandom. */
export const VmConfigSchema = Type.Object({
  payload: refTo(PayloadConfigSchema),
  cpus: withDefault(refTo(CpusConfigSchema), { boot_vcpus: 1, max_vcpus: 1 }),
  memory: withDefault(refTo(MemoryConfigSchema), { size: DEFAULT_MEMORY }),
  serial: withDefault(refTo(SerialConfigSchema), { mode: 'Null' }),
  console: withDefault(refTo(ConsoleConfigSchema), { mode: 'Tty' }),
  debug_console: withDefault(refTo(DebugConsoleConfigSchema), { mode: 'Off' }),
  rng: withDefault(refTo(RngConfigSchema), { src: DEFAULT_RNG_SOURCE }),
  disks: Type.Optional(Type.Array(refTo(DiskConfigSchema), { maxItems: MAX_DEVICES_PER_KIND })),
  net: Type.Optional(Type.Array(refTo(NetConfigSchema), { maxItems: MAX_DEVICES_PER_KIND })),
  pvpanic: withDefault(Type.Boolean({ description: 'The pvpanic device (QEMU0001, port 0x505)' }), false),
  watchdog: defaultOnly(Type.Boolean(), false),
  iommu: defaultOnly(Type.Boolean(), false),
  landlock_enable: defaultOnly(Type.Boolean(), false),
  gdb: defaultOnly(Type.Boolean(), false),
  platform: Type.Optional(refTo(PlatformConfigSchema)),
  rate_limit_groups: unsupported(anyList),
  balloon: unsupported(anyObject),
  fs: unsupported(anyList),
  generic_vhost_user: unsupported(anyList),
  'generic-vhost-user': unsupported(anyList),
  pmem: unsupported(anyList),
  devices: unsupported(anyList),
  user_devices: unsupported(anyList),
  vdpa: unsupported(anyList),
  vsock: Type.Optional(refTo(VsockConfigSchema)),
  numa: unsupported(anyList),
  rtc: unsupported(anyObject),
  pci_segments: unsupported(anyList),
  tpm: unsupported(anyObject),
  landlock_rules: unsupported(anyList),
  ivshmem: unsupported(anyObject),
  pvmemcontrol: unsupported(anyObject),
}, { ...strict, $id: 'VmConfig', description: "Virtual machine configuration: Cloud Hypervisor v53.0's VmConfig" });

/** vm.snapshot's body, as Cloud Hypervisor's VmSnapshotConfig. */
export const VmSnapshotConfigSchema = Type.Object({
  destination_url: Type.String({ minLength: 1, description: 'file:///DIR: the directory the snapshot is written into (made if missing; it must hold no snapshot)' }),
}, { ...strict, $id: 'VmSnapshotConfig' });

/**
 * tsvmm only: a restored or incoming NIC's new backend, as Firecracker's
 * `network_overrides` (Cloud Hypervisor's `net_fds` passes new fds instead). The
 * fields it gives replace the NIC's; its MAC, MTU, queues and the guest's view stay.
 */
export const NetworkOverrideSchema = Type.Object({
  id: Type.String({ minLength: 1, description: "The NIC's id in the VM's config (vm.info shows it, as _net0 when none was given)" }),
  tap: NetConfigSchema.properties.tap,
  ip: NetConfigSchema.properties.ip,
  mask: NetConfigSchema.properties.mask,
  local: NetConfigSchema.properties.local,
  remote: NetConfigSchema.properties.remote,
}, { ...strict, $id: 'NetworkOverride' });

/** vm.restore's body and --restore's option string, as Cloud Hypervisor's RestoreConfig. */
export const RestoreConfigSchema = Type.Object({
  source_url: Type.String({ minLength: 1, description: 'file:///DIR: a directory vm.snapshot wrote' }),
  prefault: withDefault(Type.Boolean({ description: 'With OnDemand, read every saved page in before the VM is ready' }), false),
  memory_restore_mode: withDefault(literals(['Copy', 'OnDemand'] as const, {
    description: 'Copy reads guest memory from the snapshot before the VM is ready; OnDemand maps the snapshot copy-on-write, so pages are read when the guest first touches them',
  }), 'Copy'),
  resume: withDefault(Type.Boolean({ description: 'Resume the VM once restored instead of leaving it Paused' }), false),
  network_overrides: Type.Optional(Type.Array(refTo(NetworkOverrideSchema), {
    maxItems: MAX_DEVICES_PER_KIND, description: 'tsvmm only: new backends (TAP or UDP tunnel addresses) for NICs of the snapshot, by id',
  })),
  net_fds: unsupported(anyList),
  vfio_fds: unsupported(anyList),
  iommufd_fd: unsupported(Type.Integer()),
  zone_updates: unsupported(anyList),
}, { ...strict, $id: 'RestoreConfig' });

/** vm.send-migration's body, as Cloud Hypervisor's VmSendMigrationData (pre-copy over one connection). */
export const VmSendMigrationConfigSchema = Type.Object({
  destination_url: Type.String({ minLength: 1, description: 'unix:/PATH or tcp:HOST:PORT, where a tsvmm waits in vm.receive-migration' }),
  local: withDefault(Type.Boolean({ description: 'Only false: tsvmm always sends guest memory over the connection' }), false),
  preserve_source: withDefault(Type.Boolean({ description: 'Keep the source VM, Paused, once the destination runs it (instead of shutting it down)' }), false),
  downtime_ms: withDefault(Type.Integer({ minimum: 1, description: 'The pause the final round aims for: rounds of dirty pages go on until the rest takes this long to send' }), 300),
  timeout_s: withDefault(Type.Integer({ minimum: 1, description: 'How long the rounds may take in all before timeout_strategy applies' }), 3600),
  timeout_strategy: withDefault(literals(['Cancel', 'Ignore'] as const, {
    description: 'At the timeout, Cancel ends the migration and the VM runs on at the source; Ignore pauses it and sends the rest whatever the downtime',
  }), 'Cancel'),
  connections: withDefault(Type.Integer({ minimum: 1, maximum: 1, description: 'Only 1: tsvmm migrates over one connection' }), 1),
  memory_mode: withDefault(literals(['Precopy'] as const, { description: 'Only Precopy' }), 'Precopy'),
  tls_dir: unsupported(Type.String()),
}, { ...strict, $id: 'VmSendMigrationConfig' });

/** vm.receive-migration's body, as Cloud Hypervisor's VmReceiveMigrationData. */
export const VmReceiveMigrationConfigSchema = Type.Object({
  receiver_url: Type.String({ minLength: 1, description: 'unix:/PATH or tcp:HOST:PORT to listen on for the one sender' }),
  memory_mode: withDefault(literals(['Precopy'] as const, { description: 'Only Precopy' }), 'Precopy'),
  network_overrides: Type.Optional(Type.Array(refTo(NetworkOverrideSchema), {
    maxItems: MAX_DEVICES_PER_KIND, description: "tsvmm only: new backends for the incoming VM's NICs, by id (as vm.restore's), e.g. to migrate on one host",
  })),
  tls_dir: unsupported(Type.String()),
  vfio_fds: unsupported(anyList),
  iommufd_fd: unsupported(Type.Integer()),
  zone_updates: unsupported(anyList),
}, { ...strict, $id: 'VmReceiveMigrationConfig' });

/** Every named config schema, for `$ref` resolution and the OpenAPI document. */
export const CONFIG_SCHEMAS: readonly TSchema[] = [
  VmConfigSchema, PayloadConfigSchema, CpusConfigSchema, CpuTopologySchema, MemoryConfigSchema, SerialConfigSchema,
  ConsoleConfigSchema, DebugConsoleConfigSchema, RngConfigSchema, DiskConfigSchema, NetConfigSchema, VsockConfigSchema,
  PlatformConfigSchema, VmSnapshotConfigSchema, NetworkOverrideSchema, RestoreConfigSchema, VmSendMigrationConfigSchema, VmReceiveMigrationConfigSchema,
];

export type VmConfigBody = Static<typeof VmConfigSchema>;
export type PayloadConfig = Static<typeof PayloadConfigSchema>;
export type CpusConfig = Static<typeof CpusConfigSchema>;
export type MemoryConfig = Static<typeof MemoryConfigSchema>;
export type SerialConfig = Static<typeof SerialConfigSchema>;
export type ConsoleConfig = Static<typeof ConsoleConfigSchema>;
export type ConsoleMode = ConsoleConfig['mode'];
export type RngConfig = Static<typeof RngConfigSchema>;
export type DiskConfig = Static<typeof DiskConfigSchema>;
export type NetConfig = Static<typeof NetConfigSchema>;
export type VsockConfig = Static<typeof VsockConfigSchema>;
export type VmSnapshotConfig = Static<typeof VmSnapshotConfigSchema>;
export type RestoreConfigBody = Static<typeof RestoreConfigSchema>;
/** vm.restore's body with its defaults filled in. */
export type NetworkOverride = Static<typeof NetworkOverrideSchema>;
export type RestoreConfig = Required<Pick<Static<typeof RestoreConfigSchema>, 'source_url' | 'prefault' | 'memory_restore_mode' | 'resume'>>
  & Pick<Static<typeof RestoreConfigSchema>, 'network_overrides'>;

/** vm.send-migration's body with its defaults filled in. */
export type VmSendMigrationConfig = Required<Omit<Static<typeof VmSendMigrationConfigSchema>, 'tls_dir'>>;
/** vm.receive-migration's body with its defaults filled in. */
export type VmReceiveMigrationConfig = Required<Pick<Static<typeof VmReceiveMigrationConfigSchema>, 'receiver_url' | 'memory_mode'>>
  & Pick<Static<typeof VmReceiveMigrationConfigSchema>, 'network_overrides'>;

/** A VmConfig after `completeConfig`: every section with a default is there. */
export type VmConfig = VmConfigBody & {
  cpus: CpusConfig;
  memory: MemoryConfig;
  serial: SerialConfig;
  console: ConsoleConfig;
  rng: RngConfig;
  pvpanic: boolean;
};

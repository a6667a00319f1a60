// VmConfig against Cloud Hypervisor's (v53.0): every field of every section
// is known; a field at its default is accepted and any other value of a
// field tsvmm does not implement is refused with the field's name; the
// bodies Cloud Hypervisor's clients send are accepted; and a completed
// config goes round vm.info -> vm.create unchanged.
import { Kind, type TSchema } from '@sinclair/typebox';
import t from 'tap';
import { acceptBody } from '../../src/config/accept.js';
import { withDeviceChoices } from '../../src/config/devices.js';
import { validateVmConfig } from '../../src/config/rules.js';
import {
  CONFIG_SCHEMAS, DiskConfigSchema, NetConfigSchema, SUPPORT_KEYWORD, VmConfigSchema, type VmConfig,
} from '../../src/config/schema.js';

/** Cloud Hypervisor's serde field names per section, read from its vm_config.rs (v53.0). */
const CLOUD_HYPERVISOR_FIELDS: Record<string, string[]> = {
  VmConfig: ['cpus', 'memory', 'payload', 'rate_limit_groups', 'disks', 'net', 'rng', 'balloon', 'generic_vhost_user', 'fs',
    'pmem', 'serial', 'console', 'debug_console', 'devices', 'user_devices', 'vdpa', 'vsock', 'pvmemcontrol', 'pvpanic',
    'iommu', 'numa', 'watchdog', 'rtc', 'gdb', 'pci_segments', 'platform', 'tpm', 'landlock_enable', 'landlock_rules', 'ivshmem'],
  CpusConfig: ['boot_vcpus', 'max_vcpus', 'topology', 'kvm_hyperv', 'max_phys_bits', 'affinity', 'features', 'nested',
    'core_scheduling', 'profile'],
  MemoryConfig: ['size', 'mergeable', 'hotplug_method', 'hotplug_size', 'hotplugged_size', 'shared', 'hugepages',
    'hugepage_size', 'prefault', 'reserve', 'zones', 'thp'],
  PayloadConfig: ['firmware', 'kernel', 'cmdline', 'initramfs', 'igvm', 'host_data', 'fw_cfg_config'],
  DiskConfig: ['id', 'iommu', 'pci_segment', 'pci_device_id', 'path', 'readonly', 'direct', 'num_queues', 'queue_size',
    'vhost_user', 'vhost_socket', 'rate_limit_group', 'rate_limiter_config', 'disable_io_uring', 'disable_aio', 'serial',
    'queue_affinity', 'backing_files', 'sparse', 'image_type', 'lock_granularity'],
  NetConfig: ['id', 'iommu', 'pci_segment', 'pci_device_id', 'tap', 'ip', 'mask', 'mac', 'host_mac', 'mtu', 'num_queues',
    'queue_size', 'vhost_user', 'vhost_socket', 'vhost_mode', 'fds', 'rate_limiter_config', 'offload_tso', 'offload_ufo',
    'offload_csum'],
  RngConfig: ['id', 'iommu', 'pci_segment', 'pci_device_id', 'src'],
  SerialConfig: ['file', 'mode', 'socket'],
  ConsoleConfig: ['file', 'mode', 'socket', 'id', 'iommu', 'pci_segment', 'pci_device_id'],
  DebugConsoleConfig: ['file', 'mode', 'iobase'],
  PlatformConfig: ['num_pci_segments', 'iommu_segments', 'iommu_address_width_bits', 'system_serial_number', 'serial_number',
    'system_uuid', 'uuid', 'oem_strings', 'system_manufacturer', 'system_product_name', 'system_version', 'system_family',
    'system_sku_number', 'chassis_asset_tag', 'tdx', 'sev_snp', 'iommufd', 'iommufd_fd', 'vfio_p2p_dma'],
  CpuTopology: ['threads_per_core', 'cores_per_die', 'dies_per_package', 'packages'],
};

const schemaById = new Map(CONFIG_SCHEMAS.map((schema) => [schema.$id as string, schema]));
const properties = (schema: TSchema): Record<string, TSchema> => schema.properties as Record<string, TSchema>;

/** Where each section sits in a vm.create body, and the least it needs there. */
const SECTIONS: Record<string, { wrap: (section: object) => object; path: string; base: object }> = {
  VmConfig: { wrap: (s) => s, path: '', base: { payload: { kernel: 'k' } } },
  PayloadConfig: { wrap: (s) => ({ payload: s }), path: 'payload.', base: { kernel: 'k' } },
  CpusConfig: { wrap: (s) => ({ cpus: s }), path: 'cpus.', base: { boot_vcpus: 1, max_vcpus: 1 } },
  MemoryConfig: { wrap: (s) => ({ memory: s }), path: 'memory.', base: { size: 2 ** 27 } },
  DiskConfig: { wrap: (s) => ({ disks: [s] }), path: 'disks[0].', base: { path: '/x' } },
  NetConfig: { wrap: (s) => ({ net: [s] }), path: 'net[0].', base: {} },
  RngConfig: { wrap: (s) => ({ rng: s }), path: 'rng.', base: { src: '/dev/urandom' } },
  SerialConfig: { wrap: (s) => ({ serial: s }), path: 'serial.', base: { mode: 'Null' } },
  ConsoleConfig: { wrap: (s) => ({ console: s }), path: 'console.', base: { mode: 'Off' } },
  DebugConsoleConfig: { wrap: (s) => ({ debug_console: s }), path: 'debug_console.', base: {} },
  PlatformConfig: { wrap: (s) => ({ platform: s }), path: 'platform.', base: {} },
};

function create(body: object): VmConfig {
  const config = withDeviceChoices(acceptBody<VmConfig>('vm.create', VmConfigSchema, { payload: { kernel: 'k' }, ...body }));
  validateVmConfig(config);
  return config;
}

/** A valid value of `schema` other than its default; undefined when it has only one. */
function otherValue(schema: TSchema): unknown {
  if (schema.const !== undefined) return undefined;
  if (schema.pattern !== undefined) return '02:00:00:00:00:01';
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as Array<{ const: unknown }>).map((m) => m.const).find((v) => v !== schema.default);
  switch (schema.type) {
    case 'boolean': return !(schema.default as boolean);
    case 'integer': return ((schema.default as number | undefined) ?? 0) + 1;
    case 'string': return 'x';
    case 'array': return [{}];
    default: return schema[Kind] === 'Ref' || schema.$ref ? { threads_per_core: 1, cores_per_die: 1, dies_per_package: 1, packages: 1 } : {};
  }
}

t.test("every field of Cloud Hypervisor's VmConfig is known to the schema", async (t) => {
  for (const [id, fields] of Object.entries(CLOUD_HYPERVISOR_FIELDS)) {
    const schema = schemaById.get(id);
    t.ok(schema, `${id} is a schema`);
    if (!schema) continue;
    const known = Object.keys(properties(schema));
    t.same(fields.filter((field) => !known.includes(field)), [], `${id}: no field missing`);
  }
});

t.test('each field tsvmm does not implement: its default is accepted, anything else is refused by name', async (t) => {
  for (const [id, section] of Object.entries(SECTIONS)) {
    const schema = schemaById.get(id) as TSchema;
    for (const [field, fieldSchema] of Object.entries(properties(schema))) {
      const support = fieldSchema[SUPPORT_KEYWORD];
      if (support === undefined) continue;
      const path = `${section.path}${field}`;
      if (support === 'default-only') {
        t.doesNotThrow(() => create(section.wrap({ ...section.base, [field]: fieldSchema.default })), `${path} at its default`);
      }
      t.doesNotThrow(() => create(section.wrap({ ...section.base, [field]: null })), `${path}: null reads as absent`);
      const value = otherValue(fieldSchema);
      if (value === undefined) continue;
      const escaped = path.replace(/[[\].]/g, (c) => `\\${c}`);
      t.throws(() => create(section.wrap({ ...section.base, [field]: value })),
        { name: 'ConfigError', message: new RegExp(`^${escaped}: .* is not supported by tsvmm`) }, `${path} = ${JSON.stringify(value)}`);
    }
  }
  t.throws(() => create({ cpus: { boot_vcpus: 1, max_vcpus: 1, features: { amx: true } } }), /cpus\.features\.amx: true is not supported/);
  t.throws(() => create({ bogus: 1 }), /bogus: Unexpected property/, 'a key Cloud Hypervisor does not have stays an error');
  const deep = JSON.parse(`${'['.repeat(30_000)}${']'.repeat(30_000)}`) as object;
  t.throws(() => create({ disks: deep }), /nests deeper than 16 levels/, 'a hostile nesting is a 400, not a stack overflow');
  t.throws(() => create({ disks: [{ path: '/x', image_type: 'Vhdx' }] }), /disks\[0\]\.image_type: "Vhdx" is not supported by tsvmm \(raw images only\)/);
});

t.test('fields tsvmm implements take their values', async (t) => {
  const config = create({
    cpus: { boot_vcpus: 2, max_vcpus: 2, nested: false },
    disks: [{ path: '/x', serial: 'SERIAL-1', queue_size: 64, image_type: 'Raw' }],
    net: [{ mtu: 9000, queue_size: 512, offload_tso: true }],
    rng: { src: '/dev/urandom', id: 'entropy' },
    console: { mode: 'Pty', id: 'con0' },
    pvpanic: true,
  });
  t.match(config, { cpus: { nested: false }, disks: [{ serial: 'SERIAL-1', queue_size: 64 }], net: [{ mtu: 9000, queue_size: 512 }], pvpanic: true });
  t.throws(() => create({ disks: [{ path: '/x', queue_size: 100 }] }), /disks\[0\]\.queue_size: 100 is not a power of two/);
  t.throws(() => create({ disks: [{ path: '/x', id: 'a' }], net: [{ id: 'a' }] }), /device id "a" is used twice/);
  t.same(create({ rng: { src: '/x', id: '_disk0' }, disks: [{ path: '/x' }] }).disks?.[0]?.id, '_disk1',
    'a chosen id never clashes with a given one');
});

t.test("the bodies Cloud Hypervisor's clients send are accepted", async (t) => {
  // What `ch-remote add-disk path=/img` and `add-net tap=tap0` send: the parsed config,
  // serialised with serde's rules (None fields left out, PCI fields flattened in).
  const addDisk = {
    pci_segment: 0, path: '/img', readonly: false, direct: false, num_queues: 1, queue_size: 128, vhost_user: false,
    disable_io_uring: false, disable_aio: false, backing_files: false, sparse: true, image_type: 'Unknown', lock_granularity: 'ByteRange',
  };
  const addNet = {
    pci_segment: 0, tap: 'tap0', mac: '12:34:56:78:9a:bc', num_queues: 2, queue_size: 256, vhost_user: false,
    vhost_mode: 'Client', offload_tso: true, offload_ufo: true, offload_csum: true,
  };
  t.match(acceptBody('vm.add-disk', DiskConfigSchema, addDisk), { path: '/img' });
  t.match(acceptBody('vm.add-net', NetConfigSchema, addNet), { tap: 'tap0' });
  // vm.info's config as Cloud Hypervisor returns it: every section, unset ones as null.
  const fromCloudHypervisor = {
    cpus: { boot_vcpus: 1, max_vcpus: 1, kvm_hyperv: false, max_phys_bits: 46, features: { amx: false }, nested: true,
      core_scheduling: 'Vm', profile: 'Host' },
    memory: { size: 2 ** 29, mergeable: false, hotplug_method: 'Acpi', shared: false, hugepages: false, prefault: false,
      reserve: false, thp: true },
    payload: { kernel: '/vmlinux', cmdline: 'console=hvc0 root=/dev/vda1' },
    rate_limit_groups: null, disks: [{ ...addDisk, id: '_disk0' }], net: [{ ...addNet, id: '_net1', ip: '192.168.249.1', mask: '255.255.255.0' }],
    rng: { src: '/dev/urandom', pci_segment: 0 }, balloon: null, fs: null, pmem: null, serial: { mode: 'Null' },
    console: { mode: 'Tty', pci_segment: 0 }, debug_console: { mode: 'Off', iobase: 233 }, devices: null, user_devices: null,
    vdpa: null, vsock: null, pvpanic: false, iommu: false, numa: null, watchdog: false, rtc: null, pci_segments: null,
    platform: null, tpm: null, landlock_enable: false, landlock_rules: null, generic_vhost_user: null,
  };
  const config = create(fromCloudHypervisor);
  t.match(config, { disks: [{ id: '_disk0' }], net: [{ id: '_net1' }], console: { mode: 'Tty' }, serial: { mode: 'Null' } });
});

t.test('a completed config goes round vm.info -> vm.create unchanged', async (t) => {
  const config = create({ disks: [{ path: '/a' }, { path: '/b', id: 'b' }], net: [{ remote: '127.0.0.1:9' }, {}] });
  t.same(config.disks?.map((disk) => disk.id), ['_disk0', 'b']);
  t.same(config.net?.map((nic) => nic.id), ['_net0', '_net1']);
  t.same(create(JSON.parse(JSON.stringify(config)) as object), config);
});

// The REST API's data shapes, as TypeBox schemas: the one source of truth.
// Requests are validated against them at runtime; openapi/tsvmm.json and the
// client types in src/api/generated/ are generated from them
// (`npm run generate`). Names and fields follow Cloud Hypervisor's document.
import { Type, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox';
import { MAX_MEMORY, MAX_VCPUS, MIN_MEMORY } from '../vm/config.js';

const strict = { additionalProperties: false } as const;

/** A `$ref` to a named schema that keeps the referenced schema's static type. */
function refTo<T extends TSchema>(schema: T): TUnsafe<Static<T>> {
  return Type.Unsafe<Static<T>>(Type.Ref(schema.$id as string));
}

export const PayloadConfigSchema = Type.Object({
  kernel: Type.Optional(Type.String({ minLength: 1, description: 'ELF vmlinux with a PVH note, or bzImage' })),
  initramfs: Type.Optional(Type.String({ minLength: 1 })),
  cmdline: Type.Optional(Type.String()),
  firmware: Type.Optional(Type.String({ description: 'Not supported: boot a kernel' })),
}, { ...strict, $id: 'PayloadConfig', description: 'What the guest boots' });

export const CpusConfigSchema = Type.Object({
  boot_vcpus: Type.Integer({ minimum: 1, maximum: MAX_VCPUS }),
  max_vcpus: Type.Integer({ minimum: 1, maximum: MAX_VCPUS }),
}, { ...strict, $id: 'CpusConfig' });

export const MemoryConfigSchema = Type.Object({
  size: Type.Integer({ minimum: MIN_MEMORY, maximum: MAX_MEMORY, description: 'Bytes, a multiple of 4096' }),
}, { ...strict, $id: 'MemoryConfig' });

export const ConsoleConfigSchema = Type.Object({
  mode: Type.Union((['Off', 'Null', 'Tty', 'File', 'Pty', 'Socket', 'Tcp'] as const).map((mode) => Type.Literal(mode))),
  file: Type.Optional(Type.String({ minLength: 1, description: 'File mode: the output file. Pty mode, in vm.info: the pty path' })),
  socket: Type.Optional(Type.String({ minLength: 1, description: 'Socket mode: the UNIX socket clients attach to' })),
  tcp: Type.Optional(Type.String({ minLength: 1, description: 'Tcp mode: [HOST:]PORT, loopback by default; port 0 picks one (vm.info shows it)' })),
}, { ...strict, $id: 'ConsoleConfig' });

export const RngConfigSchema = Type.Object({
  src: Type.String({ minLength: 1, description: 'Host file read for entropy, e.g. /dev/urandom' }),
}, { ...strict, $id: 'RngConfig' });

export const DiskConfigSchema = Type.Object({
  path: Type.String({ minLength: 1, description: 'A raw image' }),
  readonly: Type.Optional(Type.Boolean({ default: false })),
  direct: Type.Optional(Type.Boolean({ default: false, description: 'O_DIRECT' })),
  id: Type.Optional(Type.String({ minLength: 1 })),
}, { ...strict, $id: 'DiskConfig' });

const ENDPOINT = '^(\\[[0-9A-Fa-f:.]+\\]|[0-9.]+):[0-9]{1,5}$';

export const NetConfigSchema = Type.Object({
  tap: Type.Optional(Type.String({ maxLength: 15, description: 'TAP interface; created when empty or absent (and remote is not set)' })),
  ip: Type.Optional(Type.String({ minLength: 1, description: 'IPv4 address given to the TAP interface on the host' })),
  mask: Type.Optional(Type.String({ minLength: 1, description: 'IPv4 netmask of the TAP interface' })),
  mac: Type.Optional(Type.String({ pattern: '^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$', description: "The guest's MAC; random when absent" })),
  id: Type.Optional(Type.String({ minLength: 1 })),
  local: Type.Optional(Type.String({ pattern: ENDPOINT, description: 'UDP tunnel: HOST:PORT bound; port 0 picks one (vm.info shows it)' })),
  remote: Type.Optional(Type.String({ pattern: ENDPOINT, description: 'UDP tunnel: HOST:PORT frames go to; selects the UDP backend' })),
}, { ...strict, $id: 'NetConfig' });

/** vm.create's body. Sections left out take the CLI's defaults. */
export const VmConfigSchema = Type.Object({
  payload: refTo(PayloadConfigSchema),
  cpus: Type.Optional(refTo(CpusConfigSchema)),
  memory: Type.Optional(refTo(MemoryConfigSchema)),
  serial: Type.Optional(refTo(ConsoleConfigSchema)),
  console: Type.Optional(refTo(ConsoleConfigSchema)),
  rng: Type.Optional(refTo(RngConfigSchema)),
  disks: Type.Optional(Type.Array(refTo(DiskConfigSchema), { maxItems: 16 })),
  net: Type.Optional(Type.Array(refTo(NetConfigSchema), { maxItems: 16 })),
}, { ...strict, $id: 'VmConfig', description: 'Virtual machine configuration' });

export const VmStateSchema = Type.Union(
  [Type.Literal('Created'), Type.Literal('Running'), Type.Literal('Shutdown'), Type.Literal('Paused')],
  { $id: 'VmState' },
);

export const VmInfoSchema = Type.Object({
  config: refTo(VmConfigSchema),
  state: refTo(VmStateSchema),
  memory_actual_size: Type.Integer({ minimum: 0 }),
}, { ...strict, $id: 'VmInfo', description: 'Virtual machine information' });

export const VmmPingResponseSchema = Type.Object({
  build_version: Type.String(),
  version: Type.String(),
  pid: Type.Integer(),
  features: Type.Array(Type.String()),
}, { ...strict, $id: 'VmmPingResponse', description: 'Virtual machine monitor information' });

export const VmCountersSchema = Type.Record(Type.String(), Type.Record(Type.String(), Type.Integer()), {
  $id: 'VmCounters', description: 'Counters per device id',
});

export const EventRecordSchema = Type.Object({
  timestamp: Type.Object({
    secs: Type.Integer({ minimum: 0 }),
    nanos: Type.Integer({ minimum: 0, maximum: 999_999_999 }),
  }, { ...strict, description: 'Time since the VMM started' }),
  source: Type.Union((['vmm', 'vm', 'virtio-device', 'guest'] as const).map((source) => Type.Literal(source))),
  event: Type.String({ description: 'vmm: starting, shutdown, error (the last line of a stream that is dropped); vm: booting, booted, pausing, paused, resuming, resumed, rebooting, rebooted, shutdown, deleted; virtio-device: activated, reset; guest: panic' }),
  properties: Type.Union([Type.Record(Type.String(), Type.String()), Type.Null()]),
}, { ...strict, $id: 'EventRecord', description: 'One event, as one line of the event-monitor file and of GET /vmm.events' });

export const ErrorBodySchema = Type.Object({
  status: Type.Integer({ minimum: 400, maximum: 599 }),
  message: Type.String(),
  causes: Type.Array(Type.String()),
}, { ...strict, $id: 'Error', description: 'Every error response' });

/** Every named schema, in the order the OpenAPI document lists them. */
export const COMPONENT_SCHEMAS: readonly TSchema[] = [
  VmmPingResponseSchema, VmStateSchema, VmInfoSchema, VmCountersSchema, PayloadConfigSchema,
  VmConfigSchema, CpusConfigSchema, MemoryConfigSchema, ConsoleConfigSchema, RngConfigSchema, DiskConfigSchema, NetConfigSchema,
  EventRecordSchema, ErrorBodySchema,
];

export type VmConfigBody = Static<typeof VmConfigSchema>;
export type VmInfoBody = Static<typeof VmInfoSchema>;
export type VmmPingBody = Static<typeof VmmPingResponseSchema>;
export type VmCountersBody = Static<typeof VmCountersSchema>;
export type ErrorBody = Static<typeof ErrorBodySchema>;
export type EventRecordBody = Static<typeof EventRecordSchema>;

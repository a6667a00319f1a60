// The snapshot manifest (snapshot.json): format name and version, the VM's
// config, every vCPU's and device's state, the disks it names and where the
// guest memory's data lies in the memory file. One TypeBox schema checks a
// manifest on load, before anything of it is used; docs/snapshot.md
// describes the format for people.
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { MAX_VCPUS } from '../config/schema.js';
import { SnapshotError } from '../util/errors.js';

export const SNAPSHOT_FORMAT = 'tsvmm-snapshot';
/** Bumped whenever a field changes meaning; a manifest of another version is refused. */
export const SNAPSHOT_VERSION = 1;
export const MANIFEST_FILE = 'snapshot.json';
export const MEMORY_FILE = 'memory';

/** Raw KVM structs and device registers, base64. */
const Bytes = Type.String({ pattern: '^[A-Za-z0-9+/]*={0,2}$', maxLength: 1 << 20 });
const Offset = Type.Integer({ minimum: 0 });
const Index16 = Type.Integer({ minimum: 0, maximum: 0xffff });

const VcpuStateSchema = Type.Object({
  regs: Bytes, sregs: Bytes,
  fpu: Type.Object({ kind: Type.Union([Type.Literal('xsave'), Type.Literal('fpu')]), bytes: Bytes }),
  xcrs: Type.Optional(Bytes),
  lapic: Bytes, mp_state: Bytes, events: Bytes,
  debug_regs: Type.Optional(Bytes),
  /** [index, value as a hex string]: MSR values are 64-bit. */
  msrs: Type.Array(Type.Tuple([Type.Integer({ minimum: 0, maximum: 0xffff_ffff }), Type.String({ pattern: '^[0-9a-f]{1,16}$' })]), { maxItems: 4096 }),
});

const QueueIndicesSchema = Type.Object({ last_available: Index16, used_index: Index16, last_signalled_used: Index16 });

export const ManifestSchema = Type.Object({
  format: Type.Literal(SNAPSHOT_FORMAT),
  version: Type.Literal(SNAPSHOT_VERSION),
  tsvmm_version: Type.String(),
  /** The VmConfig, checked as vm.create's body is when restored. */
  config: Type.Unknown(),
  vcpus: Type.Array(VcpuStateSchema, { minItems: 1, maxItems: MAX_VCPUS }),
  vm: Type.Object({ irqchips: Type.Array(Bytes, { minItems: 3, maxItems: 3 }), pit: Bytes, clock: Bytes }),
  legacy: Type.Array(Type.Object({ name: Type.String(), state: Bytes }), { maxItems: 64 }),
  virtio: Type.Array(Type.Object({
    id: Type.String(),
    registers: Bytes,
    queues: Type.Array(Type.Union([Type.Null(), QueueIndicesSchema]), { maxItems: 16 }),
  }), { maxItems: 64 }),
  /** Each disk of the config: the same file must be there at restore. */
  disks: Type.Array(Type.Object({ path: Type.String(), size: Offset, sha256_first_mib: Type.String({ pattern: '^[0-9a-f]{64}$' }) })),
  memory: Type.Object({
    file: Type.Literal(MEMORY_FILE),
    size: Offset,
    /** [offset, length] in the memory file (which is laid out as guest memory is mapped), page-aligned, ascending. */
    ranges: Type.Array(Type.Tuple([Offset, Offset])),
    /** Of the ranges' bytes, in order. */
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  }),
});

export type Manifest = Static<typeof ManifestSchema>;
export type ManifestVcpu = Static<typeof VcpuStateSchema>;
export type ManifestQueue = Static<typeof QueueIndicesSchema>;

/** Parses and checks a manifest's text; throws SnapshotError naming the first thing wrong. */
export function parseManifest(text: string): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SnapshotError(`${MANIFEST_FILE} is not JSON (${(error as Error).message}): the snapshot is corrupt or truncated`);
  }
  const head = value as { format?: unknown; version?: unknown } | null;
  if (typeof head !== 'object' || head === null || head.format !== SNAPSHOT_FORMAT) {
    throw new SnapshotError(`${MANIFEST_FILE} is not a tsvmm snapshot (its format is not "${SNAPSHOT_FORMAT}")`);
  }
  if (head.version !== SNAPSHOT_VERSION) {
    throw new SnapshotError(`the snapshot has format version ${JSON.stringify(head.version)}; this tsvmm reads version ${SNAPSHOT_VERSION} only`);
  }
  // Walked, not compiled: one manifest is read per restore, and compiling the
  // checker at start-up cost every tsvmm process 3 ms (issue 18).
  if (!Value.Check(ManifestSchema, value)) {
    const first = Value.Errors(ManifestSchema, value).First();
    const where = first ? first.path.slice(1).replaceAll('/', '.') : '';
    throw new SnapshotError(`${MANIFEST_FILE} is corrupt: ${where || 'the manifest'}: ${first?.message ?? 'does not match the format'}`);
  }
  checkRanges(value.memory);
  return value;
}

/** Ranges inside the file, page-aligned, ascending and not overlapping: a reader may trust them. */
function checkRanges(memory: Manifest['memory']): void {
  let end = 0;
  for (const [offset, length] of memory.ranges) {
    if (offset % 4096 !== 0 || length % 4096 !== 0 || length === 0 || offset < end || offset + length > memory.size) {
      throw new SnapshotError(`${MANIFEST_FILE} is corrupt: memory range [${offset}, ${length}] is not a page-aligned range after the last within ${memory.size} bytes`);
    }
    end = offset + length;
  }
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Decodes a field, refusing one whose length is not the struct's. */
export function fromBase64(what: string, text: string, size?: number): Uint8Array {
  const bytes = new Uint8Array(Buffer.from(text, 'base64'));
  if (size !== undefined && bytes.length !== size) {
    throw new SnapshotError(`${MANIFEST_FILE} is corrupt: ${what} has ${bytes.length} bytes, not ${size}`);
  }
  return bytes;
}

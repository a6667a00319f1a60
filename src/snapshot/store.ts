// A snapshot directory: snapshot.json (the manifest) and memory (the guest
// memory, sparse). The manifest is written last, under a temporary name
// renamed into place, so a directory without it holds no snapshot, whatever
// happened while the memory was written.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { DiskConfig, VmConfig } from '../config/schema.js';
import { native } from '../native.js';
import { ConfigError, SnapshotError } from '../util/errors.js';
import { VERSION } from '../version.js';
import type { VmSavedState } from '../vm/vm.js';
import type { LegacyName } from '../devices/legacy.js';
import {
  fromBase64, MANIFEST_FILE, MEMORY_FILE, parseManifest, SNAPSHOT_FORMAT, SNAPSHOT_VERSION, toBase64,
  type Manifest, type ManifestVcpu,
} from './manifest.js';

const FINGERPRINT_BYTES = 1 << 20;
/** As native/vcpu.cc's bound on an XSAVE area. */
const MAX_XSAVE_BYTES = 64 * 1024;

/** Cloud Hypervisor's URLs: `file://` and an absolute path. */
export function snapshotDirectory(field: string, url: string): string {
  const path = url.startsWith('file://') ? url.slice('file://'.length) : undefined;
  if (path === undefined || !isAbsolute(path)) {
    throw new ConfigError(`${field} ${JSON.stringify(url)} is not a file:///absolute/path URL (the only kind tsvmm reads and writes)`);
  }
  return path;
}

/** Makes the directory if needed; one that holds a snapshot already is refused. */
export function prepareDestination(dir: string): { memoryPath: string } {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new ConfigError(`destination_url: cannot make ${dir}: ${(error as Error).message}`);
  }
  for (const name of [MANIFEST_FILE, MEMORY_FILE]) {
    if (existsSync(join(dir, name))) throw new ConfigError(`destination_url: ${dir} holds a snapshot already (${name}); remove it or pick another directory`, { code: 'ResourceBusy' });
  }
  return { memoryPath: join(dir, MEMORY_FILE) };
}

/** SHA-256 of a disk's first MiB: a restore checks it is the same disk (with its size). */
function diskFingerprint(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const bytes = new Uint8Array(FINGERPRINT_BYTES);
    const length = readSync(fd, bytes, 0, bytes.length, 0);
    return createHash('sha256').update(bytes.subarray(0, length)).digest('hex');
  } finally {
    closeSync(fd);
  }
}

function diskIdentity(disk: DiskConfig): Manifest['disks'][number] {
  return { path: disk.path, size: statSync(disk.path).size, sha256_first_mib: diskFingerprint(disk.path) };
}

function encodeVcpu(vcpu: VmSavedState['vcpus'][number]): ManifestVcpu {
  return {
    regs: toBase64(vcpu.regs), sregs: toBase64(vcpu.sregs),
    fpu: { kind: vcpu.fpu.kind, bytes: toBase64(vcpu.fpu.bytes) },
    ...(vcpu.xcrs ? { xcrs: toBase64(vcpu.xcrs) } : {}),
    lapic: toBase64(vcpu.lapic), mp_state: toBase64(vcpu.mpState), events: toBase64(vcpu.events),
    ...(vcpu.debugRegs ? { debug_regs: toBase64(vcpu.debugRegs) } : {}),
    msrs: vcpu.msrs.map(([index, value]) => [index, value.toString(16)]),
  };
}

/** A manifest of the VM's state; `memory` says where its memory's data is. */
export function buildManifest(config: VmConfig, state: VmSavedState, memory: Manifest['memory']): Manifest {
  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    tsvmm_version: VERSION,
    config,
    vcpus: state.vcpus.map(encodeVcpu),
    vm: { irqchips: state.vm.irqchips.map(toBase64), pit: toBase64(state.vm.pit), clock: toBase64(state.vm.clock) },
    legacy: state.legacy.map(({ name, state: bytes }) => ({ name, state: toBase64(bytes) })),
    virtio: state.virtio.map(({ id, transport }) => ({
      id,
      registers: toBase64(transport.registers),
      queues: transport.queues.map((q) => (q ? { last_available: q.lastAvailable, used_index: q.usedIndex, last_signalled_used: q.lastSignalledUsed } : null)),
    })),
    disks: (config.disks ?? []).map(diskIdentity),
    memory,
  };
}

/** Writes the manifest; the memory file is in place already. */
export function writeManifest(dir: string, manifest: Manifest): void {
  const temporary = join(dir, `.${MANIFEST_FILE}.tmp`);
  writeFileSync(temporary, `${JSON.stringify(manifest, null, 1)}\n`, { mode: 0o600 });
  renameSync(temporary, join(dir, MANIFEST_FILE));
}

/** Reads and checks a snapshot's manifest. */
export function readManifest(dir: string): { manifest: Manifest; memoryPath: string } {
  let text: string;
  try {
    text = readFileSync(join(dir, MANIFEST_FILE), 'utf8');
  } catch (error) {
    throw new SnapshotError(`source_url: ${dir} holds no snapshot (${MANIFEST_FILE}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return { manifest: parseManifest(text), memoryPath: join(dir, MEMORY_FILE) };
}

/** The disks must be the files the snapshot was taken with: same size, same first MiB. */
export function checkDisks(manifest: Manifest): void {
  for (const disk of manifest.disks) {
    let actual: Manifest['disks'][number];
    try {
      actual = diskIdentity({ path: disk.path } as DiskConfig);
    } catch (error) {
      throw new SnapshotError(`disk ${disk.path} of the snapshot cannot be read: ${(error as Error).message}`);
    }
    if (actual.size !== disk.size || actual.sha256_first_mib !== disk.sha256_first_mib) {
      throw new SnapshotError(`disk ${disk.path} is not the one the snapshot was taken with (its size or its first MiB differ)`);
    }
  }
}

/** kvm_fpu, or an XSAVE area of at least kvm_xsave's size (AMX makes it larger). */
function decodeFpu(what: string, fpu: ManifestVcpu['fpu']): Uint8Array {
  const sizes = native.structSizes;
  if (fpu.kind === 'fpu') return fromBase64(what, fpu.bytes, sizes.kvm_fpu);
  const bytes = fromBase64(what, fpu.bytes);
  if (bytes.length < sizes.kvm_xsave || bytes.length > MAX_XSAVE_BYTES) {
    throw new SnapshotError(`${MANIFEST_FILE} is corrupt: ${what} has ${bytes.length} bytes, not an XSAVE area's ${sizes.kvm_xsave} to ${MAX_XSAVE_BYTES}`);
  }
  return bytes;
}

/** The saved state with its raw structs decoded and each checked against this host's struct sizes. */
export function decodeState(manifest: Manifest): VmSavedState {
  const sizes = native.structSizes;
  return {
    vcpus: manifest.vcpus.map((vcpu, i) => {
      const field = (name: string): string => `vcpus.${i}.${name}`;
      return {
        regs: fromBase64(field('regs'), vcpu.regs, sizes.kvm_regs),
        sregs: fromBase64(field('sregs'), vcpu.sregs, sizes.kvm_sregs),
        fpu: { kind: vcpu.fpu.kind, bytes: decodeFpu(field('fpu'), vcpu.fpu) },
        xcrs: vcpu.xcrs === undefined ? undefined : fromBase64(field('xcrs'), vcpu.xcrs, sizes.kvm_xcrs),
        lapic: fromBase64(field('lapic'), vcpu.lapic, sizes.kvm_lapic_state),
        mpState: fromBase64(field('mp_state'), vcpu.mp_state, sizes.kvm_mp_state),
        events: fromBase64(field('events'), vcpu.events, sizes.kvm_vcpu_events),
        debugRegs: vcpu.debug_regs === undefined ? undefined : fromBase64(field('debug_regs'), vcpu.debug_regs, sizes.kvm_debugregs),
        msrs: vcpu.msrs.map(([index, value]) => [index, BigInt(`0x${value}`)]),
      };
    }),
    vm: {
      irqchips: manifest.vm.irqchips.map((chip, i) => fromBase64(`vm.irqchips.${i}`, chip, sizes.kvm_irqchip)),
      pit: fromBase64('vm.pit', manifest.vm.pit, sizes.kvm_pit_state2),
      clock: fromBase64('vm.clock', manifest.vm.clock, sizes.kvm_clock_data),
    },
    legacy: manifest.legacy.map(({ name, state }) => ({ name: name as LegacyName, state: fromBase64(`legacy.${name}`, state) })),
    virtio: manifest.virtio.map(({ id, registers, queues }) => ({
      id,
      transport: {
        registers: fromBase64(`virtio.${id}.registers`, registers),
        queues: queues.map((q) => (q ? { lastAvailable: q.last_available, usedIndex: q.used_index, lastSignalledUsed: q.last_signalled_used } : null)),
      },
    })),
  };
}

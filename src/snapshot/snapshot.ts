// vm.snapshot and vm.restore's work, for the VMM control loop: write a paused
// VM into a directory, and read one back into what Vm.restore takes.
import { rmSync } from 'node:fs';
import { acceptBody } from '../config/accept.js';
import { withNetworkOverrides } from '../config/network-overrides.js';
import { validateVmConfig } from '../config/rules.js';
import { VmConfigSchema, type RestoreConfig, type VmConfig } from '../config/schema.js';
import type { EmitEvent } from '../events/record.js';
import { SnapshotError, VmmError } from '../util/errors.js';
import { GuestMemory } from '../vm/memory.js';
import type { Vm, VmSavedState } from '../vm/vm.js';
import type { Manifest } from './manifest.js';
import { mapMemoryFile, readMemoryFile, writeMemoryFile, type Progress } from './memory-file.js';
import {
  buildManifest, checkDisks, decodeState, prepareDestination, readManifest, snapshotDirectory, writeManifest,
} from './store.js';

/** Progress events: one per tenth of the bytes, the last when all are done. */
function progressEvents(emit: EmitEvent, event: string): Progress {
  let reported = 0;
  return (done, total) => {
    const tenth = Math.floor((done * 10) / total);
    if (tenth === reported) return;
    reported = tenth;
    emit('vm', event, { bytes_done: String(done), bytes_total: String(total) });
  };
}

export interface SnapshotDestination {
  dir: string;
  memoryPath: string;
}

/** The directory `url` names, made if needed; one that holds a snapshot is refused. */
export function snapshotDestination(url: string): SnapshotDestination {
  const dir = snapshotDirectory('destination_url', url);
  return { dir, ...prepareDestination(dir) };
}

/** Writes a paused VM's snapshot into the destination. */
export async function takeSnapshot(vm: Vm, config: VmConfig, { dir, memoryPath }: SnapshotDestination, emit: EmitEvent): Promise<void> {
  const progress = progressEvents(emit, 'snapshotting');
  try {
    const { state, memory } = await vm.snapshot((guest) => writeMemoryFile(guest, memoryPath, progress));
    writeManifest(dir, buildManifest(config, state, memory));
  } catch (error) {
    rmSync(memoryPath, { force: true });
    throw error;
  }
}

/** The snapshot's config, checked as vm.create's body is; a bad one is the snapshot's fault. */
export function snapshotConfig(value: unknown): VmConfig {
  try {
    const config = acceptBody<VmConfig>('snapshot config', VmConfigSchema, value);
    validateVmConfig(config);
    return config;
  } catch (error) {
    if (error instanceof VmmError) throw new SnapshotError(`the snapshot's config is not valid: ${error.message}`);
    throw error;
  }
}

/** A snapshot whose manifest, config, disks and state passed every check; its memory is read last. */
export interface OpenedSnapshot {
  config: VmConfig;
  state: VmSavedState;
  /** Guest memory filled (Copy) or mapped (OnDemand) from the snapshot; the caller owns it. */
  loadMemory(): Promise<GuestMemory>;
}

/** Reads and checks a snapshot's manifest and what it names, before any guest memory is touched. */
export function openSnapshot(restore: RestoreConfig, emit: EmitEvent): OpenedSnapshot {
  const dir = snapshotDirectory('source_url', restore.source_url);
  const { manifest, memoryPath } = readManifest(dir);
  const { config, state } = checkedState(manifest);
  return { config: withNetworkOverrides(config, restore.network_overrides), state, loadMemory: () => loadMemory(memoryPath, manifest.memory, restore, emit) };
}

/** A parsed manifest's config and state, checked against each other, the disks and this host. */
export function checkedState(manifest: Manifest): { config: VmConfig; state: VmSavedState } {
  const config = snapshotConfig(manifest.config);
  if (config.memory.size !== manifest.memory.size) {
    throw new SnapshotError(`the snapshot's memory is ${manifest.memory.size} bytes; its config says ${config.memory.size}`);
  }
  checkDisks(manifest);
  return { config, state: decodeState(manifest) };
}

async function loadMemory(path: string, saved: Manifest['memory'], restore: RestoreConfig, emit: EmitEvent): Promise<GuestMemory> {
  if (restore.memory_restore_mode === 'OnDemand') return mapMemoryFile(path, saved, restore.prefault);
  const memory = GuestMemory.allocate(saved.size);
  try {
    await readMemoryFile(memory, path, saved, progressEvents(emit, 'restoring'));
  } catch (error) {
    memory.free();
    throw error;
  }
  return memory;
}

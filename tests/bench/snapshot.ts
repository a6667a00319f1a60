// Snapshot and restore of a mostly idle guest (the CPL3 test guest's `idle`)
// of 256 MiB and 1 GiB: vm.snapshot's time and the snapshot's size on disk,
// and vm.restore's time to a VM ready to resume, reading the memory (Copy)
// or mapping it copy-on-write (OnDemand). Beside them, in the same run, QEMU's
// equivalent: `stop` and `migrate` to a file, then `migrate-incoming` from it
// into a QEMU started with `-incoming defer -S` (so neither side counts process
// start-up, as tsvmm's figures do not); QEMU 7.2 has no mapped restore.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TsvmmClient } from '../../src/api/client.js';
import { ApiVmm } from '../helpers/api.js';
import { qemuAvailable, spawnQemuTestGuest } from '../helpers/qemu.js';
import { Qmp } from '../helpers/qmp.js';
import { testGuest, testGuestCmdline } from '../helpers/test-guest.js';
import { waitUntil } from '../helpers/wait.js';

const MiB = 2 ** 20;

export interface SnapshotBenchRow {
  memory_mib: number;
  snapshot_ms: number;
  /** Blocks the memory file occupies (the file is sparse). */
  size_on_disk_mib: number;
  restore_copy_ms: number;
  restore_ondemand_ms: number;
  qemu?: QemuSnapshotFigures;
}

/** QEMU's migrate to a file (`exec:cat`) of the stopped guest, and migrate-incoming from it. */
export interface QemuSnapshotFigures {
  snapshot_ms: number;
  size_on_disk_mib: number;
  restore_ms: number;
}

export interface SnapshotBenchResult {
  rows: SnapshotBenchRow[];
}

async function withVmm<T>(body: (client: TsvmmClient) => Promise<T>): Promise<T> {
  const vmm = await ApiVmm.start();
  const client = new TsvmmClient(vmm.socketPath);
  try {
    return await body(client);
  } finally {
    await client.close();
    await vmm.stop();
  }
}

async function timed(body: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await body();
  return Math.round(Number(process.hrtime.bigint() - start) / 1e5) / 10;
}

async function benchSize(dir: string, memoryMib: number): Promise<SnapshotBenchRow> {
  const snapshot = join(dir, `snap-${memoryMib}`);
  const serial = join(dir, `serial-${memoryMib}.log`);
  const snapshotMs = await withVmm(async (client) => {
    await client.create({ payload: { kernel: testGuest(), cmdline: testGuestCmdline('test=idle') }, memory: { size: memoryMib * MiB }, serial: { mode: 'File', file: serial } });
    await client.boot();
    await waitUntil(() => existsSync(serial) && readFileSync(serial, 'utf8').includes('TG '), 'the guest runs', 60_000);
    await client.pause();
    return timed(() => client.snapshot({ destination_url: `file://${snapshot}` }));
  });
  const sizeOnDisk = Math.round((statSync(join(snapshot, 'memory')).blocks * 512) / MiB * 100) / 100;
  const restore = (mode: 'Copy' | 'OnDemand'): Promise<number> =>
    withVmm((client) => timed(() => client.restore({ source_url: `file://${snapshot}`, memory_restore_mode: mode })));
  const row = {
    memory_mib: memoryMib, snapshot_ms: snapshotMs, size_on_disk_mib: sizeOnDisk,
    restore_copy_ms: await restore('Copy'), restore_ondemand_ms: await restore('OnDemand'),
    ...(qemuAvailable() ? { qemu: await qemuSnapshot(dir, memoryMib) } : {}),
  };
  rmSync(snapshot, { recursive: true, force: true });
  return row;
}

/** Runs a QEMU on the test guest, with `extra` arguments, until `body` is done with its QMP. */
async function withQemu<T>(dir: string, name: string, memoryMib: number, extra: string[], body: (qmp: Qmp, output: () => string) => Promise<T>): Promise<T> {
  const qmpPath = join(dir, `qmp-${name}.sock`);
  const { child, output } = spawnQemuTestGuest(qmpPath, memoryMib, 'test=idle', extra);
  try {
    const qmp = await Qmp.open(qmpPath);
    if (!qmp) throw new Error(`no QMP on QEMU (${name})`);
    try {
      return await body(qmp, output);
    } finally {
      qmp.close();
    }
  } finally {
    child.kill('SIGKILL');
  }
}

async function qemuSnapshot(dir: string, memoryMib: number): Promise<QemuSnapshotFigures> {
  const file = join(dir, `qemu-${memoryMib}.state`);
  const snapshotMs = await withQemu(dir, 'source', memoryMib, [], async (qmp, output) => {
    await waitUntil(() => output().includes('TG '), 'the QEMU guest runs', 60_000);
    await qmp.execute('stop');
    return timed(async () => {
      await qmp.execute('migrate', { uri: `exec:cat > ${file}` });
      await qmp.migrationCompleted(120_000);
    });
  });
  const sizeOnDisk = Math.round((statSync(file).blocks * 512) / MiB * 100) / 100;
  const restoreMs = await withQemu(dir, 'destination', memoryMib, ['-incoming', 'defer', '-S'], (qmp) => timed(async () => {
    await qmp.execute('migrate-incoming', { uri: `exec:cat ${file}` });
    await qmp.migrationCompleted(120_000);
  }));
  rmSync(file, { force: true });
  return { snapshot_ms: snapshotMs, size_on_disk_mib: sizeOnDisk, restore_ms: restoreMs };
}

export async function benchSnapshot(): Promise<SnapshotBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-bench-snapshot-'));
  const rows: SnapshotBenchRow[] = [];
  for (const size of [256, 1024]) rows.push(await benchSize(dir, size));
  return { rows };
}

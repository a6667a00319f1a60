// Live migration of a 256 MiB guest between two processes over a UNIX
// socket: an idle guest (the CPL3 test guest's `idle`) and one that keeps
// 64 MiB dirty (`dirty mib=64`, a write to every page, pass after pass).
// tsvmm's figures come from its migration-finished event (total time, the
// downtime from the pause to the destination running the VM, the rounds);
// QEMU's, in the same run, from query-migrate (total-time, downtime) with
// its default 300 ms downtime limit, as tsvmm's default.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TsvmmClient, type EventRecord } from '../../src/api/client.js';
import { ApiVmm } from '../helpers/api.js';
import { qemuAvailable, spawnQemuTestGuest } from '../helpers/qemu.js';
import { Qmp } from '../helpers/qmp.js';
import { testGuest, testGuestCmdline } from '../helpers/test-guest.js';
import { waitUntil } from '../helpers/wait.js';

const MiB = 2 ** 20;
const MEMORY_MIB = 256;
/** Past this the rounds stop and the rest goes, so a guest that dirties faster than the link still ends (both VMMs). */
const TIMEOUT_S = 30;

export interface MigrationFigures {
  total_ms: number;
  downtime_ms: number;
  rounds?: number;
  /** tsvmm: the part of the downtime from the sender's last frame to the VM running on the destination. */
  resume_ms?: number;
}

export interface MigrationBenchResult {
  idle: { tsvmm: MigrationFigures; qemu?: MigrationFigures };
  dirty: { tsvmm: MigrationFigures; qemu?: MigrationFigures };
}

async function tsvmmMigration(dir: string, test: string): Promise<MigrationFigures> {
  const source = await ApiVmm.start();
  const destination = await ApiVmm.start();
  const from = new TsvmmClient(source.socketPath);
  const to = new TsvmmClient(destination.socketPath);
  try {
    const serial = join(dir, `serial-${test.replace(/\W/g, '_')}.log`);
    await from.create({ payload: { kernel: testGuest(), cmdline: testGuestCmdline(test) }, memory: { size: MEMORY_MIB * MiB }, serial: { mode: 'File', file: serial } });
    await from.boot();
    await waitUntil(() => existsSync(serial) && readFileSync(serial, 'utf8').includes('TG '), 'the guest runs', 60_000);
    const url = `unix:${join(dir, `migration-${Date.now()}.sock`)}`;
    let listening!: () => void;
    const open = new Promise<void>((resolve) => { listening = resolve; });
    const ready = to.waitForEvent((e) => e.event === 'migration-receive-ready', undefined, listening);
    await open;
    const received = to.receiveMigration({ receiver_url: url });
    await ready;
    let followingTo!: () => void;
    const followedTo = new Promise<void>((resolve) => { followingTo = resolve; });
    const resumed = to.waitForEvent((e) => e.event === 'migration-receive-finished', undefined, followingTo);
    resumed.catch(() => undefined);
    await followedTo;
    let following!: () => void;
    const followed = new Promise<void>((resolve) => { following = resolve; });
    const outcome = from.waitForEvent((e) => e.event === 'migration-finished' || e.event === 'migration-failed', undefined, following);
    await followed;
    await from.sendMigration({ destination_url: url, timeout_s: TIMEOUT_S, timeout_strategy: 'Ignore' });
    const ended: EventRecord = await outcome;
    await received;
    if (ended.event !== 'migration-finished') throw new Error(`the migration failed: ${JSON.stringify(ended.properties)}`);
    const figure = (name: string): number => Number(ended.properties?.[name]);
    const resumeMs = Number((await resumed).properties?.resume_ms);
    return { total_ms: figure('total_ms'), downtime_ms: figure('downtime_ms'), rounds: figure('rounds'), resume_ms: resumeMs };
  } finally {
    await from.close();
    await to.close();
    await source.stop();
    await destination.stop();
  }
}

async function qemuMigration(dir: string, test: string): Promise<MigrationFigures> {
  const url = `unix:${join(dir, `qemu-migration-${Date.now()}.sock`)}`;
  const destination = spawnQemuTestGuest(join(dir, 'qmp-destination.sock'), MEMORY_MIB, test, ['-incoming', url]);
  const sourceQmp = join(dir, 'qmp-source.sock');
  const source = spawnQemuTestGuest(sourceQmp, MEMORY_MIB, test);
  try {
    await waitUntil(() => source.output().includes('TG '), 'the QEMU guest runs', 60_000);
    await waitUntil(() => existsSync(url.slice('unix:'.length)), 'QEMU listens for the migration', 60_000);
    const qmp = await Qmp.open(sourceQmp);
    if (!qmp) throw new Error('no QMP on the QEMU source');
    try {
      await qmp.execute('migrate-set-parameters', { 'downtime-limit': 300 });
      await qmp.execute('migrate', { uri: url });
      const done = await qmp.migrationCompleted((TIMEOUT_S + 60) * 1000);
      return { total_ms: done['total-time'] ?? NaN, downtime_ms: done.downtime ?? NaN };
    } finally {
      qmp.close();
    }
  } finally {
    source.child.kill('SIGKILL');
    destination.child.kill('SIGKILL');
  }
}

export async function benchMigration(): Promise<MigrationBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-bench-migration-'));
  const qemu = qemuAvailable();
  const both = async (test: string): Promise<{ tsvmm: MigrationFigures; qemu?: MigrationFigures }> => ({
    tsvmm: await tsvmmMigration(dir, test),
    ...(qemu ? { qemu: await qemuMigration(dir, test) } : {}),
  });
  return { idle: await both('test=idle'), dirty: await both('test=dirty mib=64') };
}

// What the live-migration tests share: the kit's Linux that counts, writes its
// count to its disk and rewrites memory without pause (each file it writes is
// named after its own MD5, so a page lost or stale on the way shows as a
// mismatch), tsvmm processes to move it between, and their events.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import type { EventRecord, NetConfig, TsvmmClient, VmConfig, VmSendMigrationConfig } from '../../src/api/client.js';
import type { NetworkOverride } from '../../src/config/schema.js';
import { startClientVmm, type ApiVmm } from './api.js';
import { attachStream, waitForMatch, type ConsoleClient } from './console-client.js';
import { BASE_CMDLINE, guestKit, run64 } from './tsvmm.js';
import { waitUntil } from './wait.js';

const MiB = 2 ** 20;

export interface Node {
  vmm: ApiVmm;
  client: TsvmmClient;
}

export const startNode = (t: Test): Promise<Node> => startClientVmm(t);

export interface EventFollower {
  records: EventRecord[];
  until: (event: string) => Promise<EventRecord>;
  stop: () => void;
}

/** Follows a VMM's events from now on (the stream is open when this resolves). */
export async function follow(client: TsvmmClient): Promise<EventFollower> {
  const records: EventRecord[] = [];
  const abort = new AbortController();
  let opened!: () => void;
  const open = new Promise<void>((resolve) => { opened = resolve; });
  const waiting: Array<{ event: string; resolve: (record: EventRecord) => void }> = [];
  void (async () => {
    for await (const record of client.events(abort.signal, opened)) {
      records.push(record);
      for (const w of waiting.filter((w) => w.event === record.event)) w.resolve(record);
    }
  })().catch(() => undefined);
  await open;
  return {
    records,
    until: (event) => {
      const seen = records.find((r) => r.event === event);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiting.push({ event, resolve }));
    },
    stop: () => abort.abort(),
  };
}

export function counts(text: string): number[] {
  return [...text.matchAll(/^COUNT (\d+)\r?$/gm)].map((m) => Number(m[1]));
}

export async function serialOf(client: TsvmmClient): Promise<ConsoleClient> {
  return attachStream((await client.info()).config.serial ?? { mode: 'Off' });
}

/** Waits for `more` new counts on the console. */
export async function countsGoOn(console: ConsoleClient, more: number, what: string): Promise<number[]> {
  const before = counts(console.text()).length;
  await waitUntil(() => counts(console.text()).length >= before + more, what, 120_000, () => console.text().slice(-400));
  return counts(console.text());
}

/** Starts receiving on `url`; resolves once the receiver said it listens, with the request's reply. */
export async function receive(node: Node, url: string, overrides?: NetworkOverride[]): Promise<{ reply: Promise<void> }> {
  const events = await follow(node.client);
  const reply = node.client.receiveMigration({ receiver_url: url, ...(overrides ? { network_overrides: overrides } : {}) });
  reply.catch(() => undefined);
  await Promise.race([events.until('migration-receive-ready'), reply]);
  events.stop();
  return { reply };
}

/** Migrates `source`'s VM and resolves with the source's events once it finished. */
export async function migrate(source: Node, options: VmSendMigrationConfig): Promise<EventRecord[]> {
  const events = await follow(source.client);
  await source.client.sendMigration(options);
  const outcome = await Promise.race([events.until('migration-finished'), events.until('migration-failed')]);
  events.stop();
  if (outcome.event === 'migration-failed') throw new Error(`migration failed: ${JSON.stringify(outcome.properties)}`);
  return events.records;
}

/** Starts a migration that never converges (1 ms downtime) and resolves once it is in its dirty-page rounds. */
export async function startEndlessMigration(source: Node, destinationUrl: string): Promise<EventFollower> {
  const events = await follow(source.client);
  await source.client.sendMigration({ destination_url: destinationUrl, downtime_ms: 1, timeout_s: 600 });
  await waitUntil(() => events.records.some((e) => e.event === 'migrating' && Number(e.properties?.round) >= 1), 'the source is in its dirty-page rounds', 120_000);
  return events;
}

// The new file is in place before the old one goes, so a file is there whenever the writer is killed.
const WRITER = 'while true; do dd if=/dev/urandom of=/tmp/cur bs=1M count=4 2>/dev/null; m=$(md5sum /tmp/cur | cut -c1-32); mv /tmp/cur /tmp/mem.$m; for o in /tmp/mem.*; do [ $o = /tmp/mem.$m ] || rm -f $o; done; done';

/** Checks, in the guest, every memory file the writer left and the blob made before any migration; then writes on. */
export async function checkGuestMemory(t: Test, console: ConsoleClient, label: string): Promise<void> {
  // The markers are split by '' so the console's echo of the command matches none of them.
  console.send(`kill $(cat /tmp/writer.pid); wait $(cat /tmp/writer.pid) 2>/dev/null; for f in /tmp/mem.*; do [ "$(md5sum $f | cut -c1-32)" = "\${f#/tmp/mem.}" ] && echo ${label}_MEM_''OK || echo ${label}_MEM_''BAD $f; done; md5sum -c /tmp/blob.md5 >/dev/null && echo ${label}_BLOB_''OK || echo ${label}_BLOB_''BAD\n`);
  await waitForMatch(console, new RegExp(`${label}_BLOB_(OK|BAD)`), `${label}: the guest checks its memory`);
  t.notMatch(console.text(), new RegExp(`${label}_(MEM|BLOB)_BAD`), `${label}: every file in guest memory has the MD5 it was written with`);
  t.match(console.text(), new RegExp(`${label}_MEM_OK`), `${label}: the memory writer's last file is intact`);
  console.send(`( ${WRITER} ) </dev/null & echo $! > /tmp/writer.pid\n`);
}

export interface WritingGuest {
  node: Node;
  console: ConsoleClient;
  /** The guest's disk: its first sector holds `DISK <count>`. */
  disk: string;
  /** A fresh directory for migration sockets. */
  dir: string;
}

/**
 * Boots the kit's Linux (2 vCPUs, 256 MiB, a disk, the rng, and `net` if
 * given, as eth0 with 10.0.0.1) counting and writing on a new VMM; resolves
 * after five counts.
 */
export async function bootWritingGuest(t: Test, net?: NetConfig): Promise<WritingGuest> {
  const kit = guestKit();
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-migration-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const disk = join(dir, 'disk.img');
  writeFileSync(disk, new Uint8Array(MiB));
  const commands = [
    ...(net ? ['retry ip addr add 10.0.0.1/24 dev eth0 && retry ip link set eth0 up'] : []),
    'dd if=/dev/urandom of=/tmp/blob bs=1M count=24 2>/dev/null; md5sum /tmp/blob > /tmp/blob.md5',
    `( ${WRITER} ) </dev/null & echo $! > /tmp/writer.pid`,
    '( n=0; while true; do n=$((n+1)); echo "COUNT $n"; echo "DISK $n" | dd of=/dev/vda bs=512 count=1 conv=fsync 2>/dev/null; sleep 0.3; done ) </dev/null &',
  ];
  const config: VmConfig = {
    payload: { kernel: kit.vmlinux, initramfs: kit.initramfs, cmdline: `${BASE_CMDLINE} ${run64(commands)} tsvmm.end=shell` },
    cpus: { boot_vcpus: 2, max_vcpus: 2 }, memory: { size: 256 * MiB },
    // A TCP console on port 0: each process binds its own port, so both ends can live on one host.
    disks: [{ path: disk }], serial: { mode: 'Tcp', tcp: '0' }, console: { mode: 'Off' },
    ...(net ? { net: [net] } : {}),
  };
  const node = await startNode(t);
  await node.client.create(config);
  await node.client.boot();
  const console = await serialOf(node.client);
  await countsGoOn(console, 5, 'five counts on the first VMM');
  return { node, console, disk, dir };
}

/** The count the guest last wrote to its disk's first sector. */
export function diskCount(image: Buffer): number {
  return Number(/^DISK (\d+)/.exec(image.toString('latin1'))?.[1]);
}

// Live migration of the kit's Linux (2 vCPUs, a disk, the rng) between
// tsvmm processes while the guest counts, writes its count to the disk and
// rewrites memory without pause (each file it writes is named after its own
// MD5, so any page lost or stale on the way shows as a mismatch). The VM
// goes A -> B over a UNIX socket and B -> D over TCP; a migration whose
// destination is killed mid-way leaves the guest running on its source, and
// one whose source is killed leaves the destination without a VM, ready
// again. Every migration is a real one: the rounds are counted in events.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ApiError, TsvmmClient, type EventRecord, type VmConfig, type VmSendMigrationConfig } from '../../src/api/client.js';
import { startClientVmm, type ApiVmm } from '../helpers/api.js';
import { attachStream, type ConsoleClient } from '../helpers/console-client.js';
import { freeTcpPort } from '../helpers/net.js';
import { BASE_CMDLINE, guestKit, run64, skipWithoutKvm } from '../helpers/tsvmm.js';
import { scaled, waitUntil } from '../helpers/wait.js';

const MiB = 2 ** 20;

interface Node {
  vmm: ApiVmm;
  client: TsvmmClient;
}

const startNode = (t: Test): Promise<Node> => startClientVmm(t);

/** Follows a VMM's events from now on (the stream is open when this resolves). */
async function follow(client: TsvmmClient): Promise<{ records: EventRecord[]; until: (event: string) => Promise<EventRecord>; stop: () => void }> {
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

function counts(text: string): number[] {
  return [...text.matchAll(/^COUNT (\d+)\r?$/gm)].map((m) => Number(m[1]));
}

async function serialOf(client: TsvmmClient): Promise<ConsoleClient> {
  return attachStream((await client.info()).config.serial ?? { mode: 'Off' });
}

function waitFor(console: ConsoleClient, pattern: RegExp, what: string, ms = 120_000): Promise<void> {
  return waitUntil(() => pattern.test(console.text()), what, scaled(ms), () => console.text().slice(-400));
}

/** Waits for `more` new counts on the console. */
async function countsGoOn(console: ConsoleClient, more: number, what: string): Promise<number[]> {
  const before = counts(console.text()).length;
  await waitUntil(() => counts(console.text()).length >= before + more, what, scaled(120_000), () => console.text().slice(-400));
  return counts(console.text());
}

/** Starts receiving on `url`; resolves once the receiver said it listens, with the request's reply. */
async function receive(node: Node, url: string): Promise<{ reply: Promise<void> }> {
  const events = await follow(node.client);
  const reply = node.client.receiveMigration({ receiver_url: url });
  reply.catch(() => undefined);
  await Promise.race([events.until('migration-receive-ready'), reply]);
  events.stop();
  return { reply };
}

async function migrate(source: Node, options: VmSendMigrationConfig): Promise<EventRecord[]> {
  const events = await follow(source.client);
  await source.client.sendMigration(options);
  const outcome = await Promise.race([events.until('migration-finished'), events.until('migration-failed')]);
  events.stop();
  if (outcome.event === 'migration-failed') throw new Error(`migration failed: ${JSON.stringify(outcome.properties)}`);
  return events.records;
}

/** Checks, in the guest, every memory file the writer left and the blob made before any migration. */
async function checkGuestMemory(t: Test, console: ConsoleClient, label: string): Promise<void> {
  // The markers are split by '' so the console's echo of the command matches none of them.
  console.send(`kill $(cat /tmp/writer.pid); wait $(cat /tmp/writer.pid) 2>/dev/null; for f in /tmp/mem.*; do [ "$(md5sum $f | cut -c1-32)" = "\${f#/tmp/mem.}" ] && echo ${label}_MEM_''OK || echo ${label}_MEM_''BAD $f; done; md5sum -c /tmp/blob.md5 >/dev/null && echo ${label}_BLOB_''OK || echo ${label}_BLOB_''BAD\n`);
  await waitFor(console, new RegExp(`${label}_BLOB_(OK|BAD)`), `${label}: the guest checks its memory`);
  t.notMatch(console.text(), new RegExp(`${label}_(MEM|BLOB)_BAD`), `${label}: every file in guest memory has the MD5 it was written with`);
  t.match(console.text(), new RegExp(`${label}_MEM_OK`), `${label}: the memory writer's last file is intact`);
  console.send(`( ${WRITER} ) </dev/null & echo $! > /tmp/writer.pid\n`);
}

// The new file is in place before the old one goes, so a file is there whenever the writer is killed.
const WRITER = 'while true; do dd if=/dev/urandom of=/tmp/cur bs=1M count=4 2>/dev/null; m=$(md5sum /tmp/cur | cut -c1-32); mv /tmp/cur /tmp/mem.$m; for o in /tmp/mem.*; do [ $o = /tmp/mem.$m ] || rm -f $o; done; done';

if (!skipWithoutKvm(t, import.meta.url)) {
  t.test('a writing, counting Linux migrates between tsvmm processes; killed migrations leave one VM running', async (t) => {
    const kit = guestKit();
    const dir = mkdtempSync(join(tmpdir(), 'tsvmm-migration-'));
    const disk = join(dir, 'disk.img');
    writeFileSync(disk, new Uint8Array(MiB));
    const commands = [
      'dd if=/dev/urandom of=/tmp/blob bs=1M count=24 2>/dev/null; md5sum /tmp/blob > /tmp/blob.md5',
      `( ${WRITER} ) </dev/null & echo $! > /tmp/writer.pid`,
      '( n=0; while true; do n=$((n+1)); echo "COUNT $n"; echo "DISK $n" | dd of=/dev/vda bs=512 count=1 conv=fsync 2>/dev/null; sleep 0.3; done ) </dev/null &',
    ];
    const config: VmConfig = {
      payload: { kernel: kit.vmlinux, initramfs: kit.initramfs, cmdline: `${BASE_CMDLINE} ${run64(commands)} tsvmm.end=shell` },
      cpus: { boot_vcpus: 2, max_vcpus: 2 }, memory: { size: 256 * MiB },
      // A TCP console on port 0: each process binds its own port, so both ends can live on one host.
      disks: [{ path: disk }], serial: { mode: 'Tcp', tcp: '0' }, console: { mode: 'Off' },
    };
    const a = await startNode(t);
    await a.client.create(config);
    await a.client.boot();
    const onA = await serialOf(a.client);
    await countsGoOn(onA, 5, 'five counts on A');

    // A -> B over a UNIX socket, default downtime.
    const b = await startNode(t);
    const unixUrl = `unix:${join(dir, 'migration.sock')}`;
    const received = await receive(b, unixUrl);
    const events = await migrate(a, { destination_url: unixUrl, timeout_s: 120, timeout_strategy: 'Ignore' });
    await received.reply;
    const rounds = events.filter((e) => e.event === 'migrating');
    t.ok(rounds.length > 0 && rounds.every((e) => Number(e.properties?.bytes_done) <= Number(e.properties?.bytes_total)), `progress events with bytes_done and bytes_total (${rounds.length})`);
    const finished = events.find((e) => e.event === 'migration-finished');
    t.ok(Number(finished?.properties?.rounds) >= 2, `pre-copy: the memory went while the guest ran, then its dirty pages (${JSON.stringify(finished?.properties)})`);
    t.equal((await a.client.info()).state, 'Shutdown', 'the source ends in Shutdown');
    t.equal((await b.client.info()).state, 'Running', 'the destination runs the VM');
    const lastOnA = counts(onA.text()).at(-1) ?? 0;
    await onA.close();
    const onB = await serialOf(b.client);
    const afterB = await countsGoOn(onB, 3, 'three counts on B');
    t.ok(afterB.some((n) => n > lastOnA && n <= lastOnA + 3), `the count continues on B (last on A ${lastOnA}, then ${afterB.slice(0, 3).join(' ')})`);
    await checkGuestMemory(t, onB, 'B');
    onB.send('echo RNG_BYTES $(dd if=/dev/hwrng bs=16 count=1 2>/dev/null | wc -c)\n');
    await waitFor(onB, /RNG_BYTES 16/, 'the rng on B');
    t.pass('the rng gives bytes on B');

    // B -> C over TCP, C killed mid-way: B's guest runs on.
    const c = await startNode(t);
    const tcpC = `tcp:127.0.0.1:${await freeTcpPort()}`;
    const receivedC = await receive(c, tcpC);
    const toC = await follow(b.client);
    await b.client.sendMigration({ destination_url: tcpC, downtime_ms: 1, timeout_s: 600 });
    await waitUntil(() => toC.records.some((e) => e.event === 'migrating' && Number(e.properties?.round) >= 1), 'B is in its dirty-page rounds', scaled(120_000));
    c.vmm.child.kill('SIGKILL');
    const failedC = await toC.until('migration-failed');
    toC.stop();
    t.match(String(failedC.properties?.message), /connection|destination/, `killing the destination fails the migration (${failedC.properties?.message})`);
    await receivedC.reply.catch(() => undefined);
    t.equal((await b.client.info()).state, 'Running', 'B still runs the VM');
    await countsGoOn(onB, 2, 'counts on B after the failed migration');
    t.pass('the count goes on at the source');

    // B -> D over TCP: a second, real migration of a VM that was migrated before.
    const d = await startNode(t);
    const tcpD = `tcp:127.0.0.1:${await freeTcpPort()}`;
    const receivedD = await receive(d, tcpD);
    await migrate(b, { destination_url: tcpD, timeout_s: 120, timeout_strategy: 'Ignore' });
    await receivedD.reply;
    const lastOnB = counts(onB.text()).at(-1) ?? 0;
    await onB.close();
    const onD = await serialOf(d.client);
    const afterD = await countsGoOn(onD, 3, 'three counts on D');
    t.ok(afterD.some((n) => n > lastOnB && n <= lastOnB + 3), `the count continues on D (last on B ${lastOnB}, then ${afterD.slice(0, 3).join(' ')})`);
    await checkGuestMemory(t, onD, 'D');
    onD.send('echo CONSOLE_OK $((6*7))\n');
    await waitFor(onD, /CONSOLE_OK 42/, 'the console on D');
    t.pass('the console answers on D');

    // D -> E over a UNIX socket, D killed mid-way: E has no VM and can receive again.
    const e = await startNode(t);
    const unixE = `unix:${join(dir, 'migration-e.sock')}`;
    const receivedE = await receive(e, unixE);
    const toE = await follow(d.client);
    const eEvents = await follow(e.client);
    await d.client.sendMigration({ destination_url: unixE, downtime_ms: 1, timeout_s: 600 });
    await waitUntil(() => toE.records.some((r) => r.event === 'migrating' && Number(r.properties?.round) >= 1), 'D is in its dirty-page rounds', scaled(120_000));
    const shownOnD = counts(onD.text()).at(-1) ?? 0;
    await onD.close();
    d.vmm.child.kill('SIGKILL');
    toE.stop();
    const error = await receivedE.reply.then(() => undefined, (reason: unknown) => reason);
    t.ok(error instanceof ApiError && error.status === 500 && error.code === 'MigrationFailed', `killing the source fails vm.receive-migration with 500 MigrationFailed (${String(error)})`);
    await eEvents.until('migration-receive-failed');
    eEvents.stop();
    const info = await e.client.info().then(() => 'a VM', (reason: unknown) => (reason instanceof ApiError ? reason.status : reason));
    t.equal(info, 404, 'the destination has no VM afterwards');
    t.notOk(existsSync(join(dir, 'migration-e.sock')), 'and its migration socket is gone');
    const again = await receive(e, unixE);
    t.pass('it listens for a migration again');
    await e.client.shutdownVmm().catch(() => undefined);
    await again.reply.catch(() => undefined);

    const written = Number(/^DISK (\d+)/.exec(readFileSync(disk, 'latin1'))?.[1]);
    t.ok(written >= shownOnD - 1, `the disk holds the count D wrote last (${written}; last shown ${shownOnD})`);
  });
}

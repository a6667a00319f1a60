// Snapshot and restore with the CPL3 test guest: a guest snapshotted while
// paused continues in another tsvmm process where it was (its console
// answers, its block requests in flight finish, its records are on disk, a
// stream of frames it sends goes on from where it was, on new addresses),
// and snapshots that are not tsvmm's, of another version, truncated or
// corrupt are refused with a 400 that names what is wrong.
import { closeSync, cpSync, existsSync, mkdtempSync, openSync, readFileSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { TsvmmClient, type EventRecord, type VmConfig } from '../../src/api/client.js';
import { ApiVmm } from '../helpers/api.js';
import { attachStream } from '../helpers/console-client.js';
import { freeUdpPorts } from '../helpers/net.js';
import { testGuest, testGuestCmdline, testGuestRecord, udpFrameCounter } from '../helpers/test-guest.js';
import { remote } from '../helpers/remote.js';
import { runTsvmm, skipWithoutKvm } from '../helpers/tsvmm.js';
import { waitUntil } from '../helpers/wait.js';

const MiB = 2 ** 20;

interface Vmm {
  vmm: ApiVmm;
  client: TsvmmClient;
  events: EventRecord[];
}

/** A tsvmm with a client and every event it reports, stopped when the test ends. */
async function startVmm(t: Test): Promise<Vmm> {
  const vmm = await ApiVmm.start();
  const client = new TsvmmClient(vmm.socketPath);
  const events: EventRecord[] = [];
  const abort = new AbortController();
  const following = (async () => {
    for await (const record of client.events(abort.signal)) events.push(record);
  })().catch(() => undefined);
  t.teardown(async () => {
    abort.abort();
    await following;
    await client.close();
    await vmm.stop();
  });
  return { vmm, client, events };
}

/** `started` once, then its progress events up to all bytes done, then `finished`, and no failure. */
function checkProgress(t: Test, events: EventRecord[], started: string, finished: string): void {
  const names = events.map((e) => e.event);
  const first = names.indexOf(started);
  const last = names.indexOf(finished);
  t.ok(first >= 0 && last > first, `${started} then ${finished} on the event stream (${names.join(' ')})`);
  const progress = events.slice(first + 1, last).map((e) => e.properties ?? {});
  t.ok(progress.length > 0 && progress.every((p) => Number(p.bytes_done) <= Number(p.bytes_total)), `progress events between them, with bytes_done and bytes_total (${JSON.stringify(progress)})`);
  const end = progress.at(-1);
  t.equal(end?.bytes_done, end?.bytes_total, 'the last says every byte is done');
  t.notOk(names.some((name) => name.endsWith('-failed')), 'and nothing failed');
}

async function stateOf(client: TsvmmClient): Promise<string> {
  return (await client.info()).state;
}

if (!skipWithoutKvm(t, import.meta.url)) {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-snapshot-'));

  t.test('a paused guest continues in a new process: its console answers, its state is Paused until resumed', async (t) => {
    const serialSocket = join(dir, 'echo.sock');
    const config: VmConfig = {
      payload: { kernel: testGuest(), cmdline: testGuestCmdline('test=echo') },
      memory: { size: 64 * MiB },
      serial: { mode: 'Socket', socket: serialSocket },
    };
    const source = await startVmm(t);
    await source.client.create(config);
    await source.client.boot();
    const first = await attachStream((await source.client.info()).config.serial ?? { mode: 'Off' });
    await first.waitFor('TG echo ready');
    first.send('abc');
    await first.waitFor('abc');
    await first.close();

    const snapshot = join(dir, 'echo');
    await t.rejects(source.client.snapshot({ destination_url: `file://${snapshot}` }), { status: 409, code: 'InvalidState' }, 'a running VM is not snapshotted');
    await source.client.pause();
    await source.client.snapshot({ destination_url: `file://${snapshot}` });
    t.ok(existsSync(join(snapshot, 'snapshot.json')), 'the manifest is written');
    t.equal(statSync(join(snapshot, 'memory')).size, 64 * MiB, 'the memory file has the guest memory size');
    t.ok(statSync(join(snapshot, 'memory')).blocks * 512 < 16 * MiB, 'and holes where the guest memory is zero');
    await t.rejects(source.client.snapshot({ destination_url: `file://${snapshot}` }), { status: 400, code: 'ResourceBusy' }, 'a directory holding a snapshot is not overwritten');
    checkProgress(t, source.events, 'snapshotting', 'snapshotted');
    await source.client.shutdown();
    await source.client.delete();

    const target = await startVmm(t);
    await target.client.restore({ source_url: `file://${snapshot}` });
    t.equal(await stateOf(target.client), 'Paused', 'the restored VM is Paused');
    t.same((await target.client.info()).config.payload, config.payload, 'with the snapshot\'s config');
    await target.client.resume();
    const again = await attachStream({ mode: 'Socket', socket: serialSocket });
    again.send('xyz.');
    await again.waitFor('xyz');
    await again.waitFor('result=ok');
    await again.close();
    await waitUntil(() => target.events.some((e) => e.event === 'shutdown'), 'the guest ends', 20_000);
    checkProgress(t, target.events, 'restoring', 'restored');
  });

  t.test('the same snapshot again, mapped copy-on-write (OnDemand) and resumed at once', async (t) => {
    const target = await startVmm(t);
    await target.client.restore({ source_url: `file://${join(dir, 'echo')}`, memory_restore_mode: 'OnDemand', resume: true });
    t.equal(await stateOf(target.client), 'Running', 'resume: true leaves it Running');
    const console = await attachStream({ mode: 'Socket', socket: join(dir, 'echo.sock') });
    console.send('q.');
    await console.waitFor('result=ok');
    t.match(console.text(), /^q\.?/, 'the guest is where the snapshot left it, waiting for input');
    await console.close();
  });

  t.test('snapshots that are not tsvmm\'s, of another version, truncated or corrupt are refused by name', async (t) => {
    const good = join(dir, 'echo');
    const { client } = await startVmm(t);
    const variant = (name: string, change: (copy: string) => void): string => {
      const copy = join(dir, name);
      cpSync(good, copy, { recursive: true });
      change(copy);
      return `file://${copy}`;
    };
    const manifest = (copy: string): Record<string, unknown> => JSON.parse(readFileSync(join(copy, 'snapshot.json'), 'utf8')) as Record<string, unknown>;
    const rewrite = (copy: string, edit: (m: Record<string, unknown>) => void): void => {
      const m = manifest(copy);
      edit(m);
      writeFileSync(join(copy, 'snapshot.json'), JSON.stringify(m));
    };
    const cases: Array<[string, string, RegExp]> = [
      ['a bare path, not a file:// URL', good, /source_url .* file:/],
      ['an empty directory', `file://${mkdtempSync(join(dir, 'empty-'))}`, /holds no snapshot/],
      ['another format version', variant('v2', (c) => rewrite(c, (m) => { m.version = 2; })), /format version 2; this tsvmm reads version 1/],
      ['not tsvmm\'s', variant('other', (c) => rewrite(c, (m) => { m.format = 'cloud-hypervisor'; })), /not a tsvmm snapshot/],
      ['a truncated manifest', variant('cut', (c) => truncateSync(join(c, 'snapshot.json'), 100)), /not JSON/],
      ['a vCPU struct of the wrong size', variant('lapic', (c) => rewrite(c, (m) => { (m.vcpus as Array<Record<string, string>>)[0]!.lapic = 'AAAA'; })), /vcpus\.0\.lapic has 3 bytes/],
      ['a missing field', variant('field', (c) => rewrite(c, (m) => { delete (m.vm as Record<string, unknown>).pit; })), /corrupt: vm/],
      ['a config whose memory is not the file\'s', variant('size', (c) => rewrite(c, (m) => { (m.config as { memory: { size: number } }).memory.size = 128 * MiB; })), /snapshot's memory is \d+ bytes; its config says/],
      ['a truncated memory file', variant('short', (c) => truncateSync(join(c, 'memory'), 32 * MiB)), /truncated/],
      ['memory data that is not what was saved', variant('flip', (c) => {
        const [[offset]] = (manifest(c).memory as { ranges: Array<[number, number]> }).ranges;
        const fd = openSync(join(c, 'memory'), 'r+');
        writeSync(fd, Buffer.from([0xa5, 0x5a]), 0, 2, (offset ?? 0) + 100);
        closeSync(fd);
      }), /SHA-256/],
    ];
    for (const [what, url, message] of cases) {
      const code = url.startsWith('file://') ? 'InvalidSnapshot' : 'InvalidConfig';
      await t.rejects(client.restore({ source_url: url }), { status: 400, code, message }, what);
    }
    t.equal((await client.ping()).pid > 0, true, 'the VMM serves on after every refusal');
    await t.rejects(client.info(), { status: 404, code: 'VmNotCreated' }, 'and has no VM');
    await client.create({ payload: { kernel: testGuest(), cmdline: testGuestCmdline('test=idle') }, memory: { size: 64 * MiB } });
    await t.rejects(client.restore({ source_url: `file://${good}` }), { status: 409, code: 'VmAlreadyCreated' }, 'a VMM with a VM restores nothing');
  });

  t.test('a block request in flight at the pause finishes after the restore: every record is on the disk', async (t) => {
    const RECORDS = 600;
    const image = join(dir, 'records.img');
    writeFileSync(image, new Uint8Array(RECORDS * 512));
    const serial = join(dir, 'records.log');
    const output = (): string => (existsSync(serial) ? readFileSync(serial, 'latin1') : '');
    const source = await startVmm(t);
    await source.client.create({
      payload: { kernel: testGuest(), cmdline: testGuestCmdline(`test=records count=${RECORDS} round=7`) },
      memory: { size: 64 * MiB }, disks: [{ path: image }], serial: { mode: 'File', file: serial },
    });
    await source.client.boot();
    // More requests than the queue has entries: a device that restarted its ring indices would notice.
    await waitUntil(() => /TG ack=100\b/.test(output()), 'a hundred records acknowledged', 120_000, () => output().slice(-200));
    await source.client.pause();
    const before = Math.max(...[...output().matchAll(/TG ack=(\d+)/g)].map((m) => Number(m[1])));
    t.ok(before < RECORDS - 1, `paused in the middle (record ${before} of ${RECORDS})`);
    const snapshot = join(dir, 'records');
    await source.client.snapshot({ destination_url: `file://${snapshot}` });
    await source.client.shutdown();
    await source.client.delete();

    const target = await startVmm(t);
    await target.client.restore({ source_url: `file://${snapshot}`, resume: true });
    await waitUntil(() => output().includes('result='), 'the guest ends', 120_000, () => output().slice(-200));
    t.match(output(), /TG result=ok/, 'the restored guest finishes its records');
    t.notMatch(output(), /TG ack=0\b/, 'continuing where it was, not from the start');
    const disk = readFileSync(image);
    const missing = Array.from({ length: RECORDS }, (_, i) => i).filter((i) => !disk.subarray(i * 512, i * 512 + 512).equals(testGuestRecord(7, i)));
    t.same(missing, [], `all ${RECORDS} records are on the disk`);
  });

  t.test('a guest sending frames as fast as it can continues after the restore, on new tunnel addresses', async (t) => {
    const FRAMES = 400_000;
    const PROGRESS = 10_000;
    const receiver = await udpFrameCounter();
    t.teardown(() => receiver.close());
    const [before, after] = await freeUdpPorts(2);
    const serial = join(dir, 'net-send.log');
    const output = (): string => (existsSync(serial) ? readFileSync(serial, 'latin1') : '');
    const offered = (): number[] => [...output().matchAll(/TG sent=(\d+)/g)].map((m) => Number(m[1]));
    const source = await startVmm(t);
    await source.client.create({
      payload: { kernel: testGuest(), cmdline: testGuestCmdline(`test=net-send frames=${FRAMES} size=1514 progress=${PROGRESS}`) },
      memory: { size: 64 * MiB }, serial: { mode: 'File', file: serial },
      net: [{ id: 'tunnel', local: `127.0.0.1:${before}`, remote: `127.0.0.1:${receiver.port}` }],
    });
    await source.client.boot();
    // The guest's own count decides the pause: the host reads (and drops) frames at its own pace.
    await waitUntil(() => offered().some((n) => n >= 2 * PROGRESS), `the guest offers ${2 * PROGRESS} frames`, 120_000, () => output().slice(-200));
    await source.client.pause();
    const offeredBefore = Math.max(...offered());
    const snapshot = join(dir, 'net-send');
    await source.client.snapshot({ destination_url: `file://${snapshot}` });
    await source.client.shutdown();
    await source.client.delete();
    t.ok(offeredBefore < FRAMES - PROGRESS, `paused in the middle (the guest had offered frame ${offeredBefore} of ${FRAMES})`);

    const target = await startVmm(t);
    await target.client.restore({ source_url: `file://${snapshot}`, resume: true, network_overrides: [{ id: 'tunnel', local: `127.0.0.1:${after}`, remote: `127.0.0.1:${receiver.port}` }] });
    await waitUntil(() => output().includes('result='), 'the guest ends', 120_000, () => output().slice(-200));
    t.match(output(), /TG frames=400000 [^]*result=ok/, 'the restored guest sends the rest of its frames and ends');
    // The restored VMM opened the serial file anew: it holds the restored guest's lines only.
    const [firstProgressAfter = -1] = offered();
    t.ok(firstProgressAfter > offeredBefore, `without starting again (its first progress line then: frame ${firstProgressAfter})`);
    await waitUntil(() => receiver.ended, 'its end-of-stream frame arrives', 60_000);
    const sentBefore = receiver.sequences.get(`127.0.0.1:${before}`) ?? [];
    const sentAfter = receiver.sequences.get(`127.0.0.1:${after}`) ?? [];
    const lastBefore = sentBefore.reduce((a, b) => Math.max(a, b), -1);
    const firstAfter = sentAfter.reduce((a, b) => Math.min(a, b), Infinity);
    t.ok(sentBefore.length > 0 && lastBefore < offeredBefore + PROGRESS, `the source sent up to frame ${lastBefore} (${sentBefore.length} arrived)`);
    t.ok(sentAfter.length > 0 && firstAfter > lastBefore,
      `it goes on from its new address after frame ${lastBefore}, not from the start (then ${sentAfter.length} frames from ${firstAfter}: ${sentAfter.slice(0, 8).join(' ')}; `
      + `the guest's progress: ${offered().join(' ')})`);
    t.equal(receiver.corrupt, 0, 'no frame is corrupt');
  });

  t.test('tsvmm-remote snapshot and restore show their progress; tsvmm --restore runs a snapshot in one go', async (t) => {
    const serialSocket = join(dir, 'cli.sock');
    const vmm = await ApiVmm.start();
    t.teardown(() => vmm.stop());
    const client = new TsvmmClient(vmm.socketPath);
    t.teardown(() => client.close());
    await client.create({ payload: { kernel: testGuest(), cmdline: testGuestCmdline('test=echo') }, memory: { size: 64 * MiB }, serial: { mode: 'Socket', socket: serialSocket } });
    await client.boot();
    const console = await attachStream({ mode: 'Socket', socket: serialSocket });
    await console.waitFor('TG echo ready');
    await console.close();
    const snapshot = join(dir, 'cli');
    t.equal((await remote(['--api-socket', vmm.socketPath, 'pause'])).code, 0, 'tsvmm-remote pause');
    const taken = await remote(['--api-socket', vmm.socketPath, 'snapshot', `file://${snapshot}`]);
    t.equal(taken.code, 0, `tsvmm-remote snapshot (${taken.stderr})`);
    t.match(taken.stderr, /^snapshotting 100% \(\d+\.\d of \d+\.\d MiB\)$/m, 'a line per progress step, not on a terminal');
    await client.shutdown();
    await client.delete();

    const other = await ApiVmm.start();
    t.teardown(() => other.stop());
    const restored = await remote(['--api-socket', other.socketPath, 'restore', `source_url=file://${snapshot},memory_restore_mode=copy`]);
    t.equal(restored.code, 0, `tsvmm-remote restore (${restored.stderr})`);
    t.match(restored.stderr, /^restoring 100% /m, 'with its progress');
    const refused = await remote(['--api-socket', other.socketPath, 'restore', `source_url=file://${snapshot}`]);
    t.equal(refused.code, 1, 'a second restore is refused by the VMM: status 1');
    t.match(refused.stderr, /a VM is created already/);
    await other.stop();

    const monitor = join(dir, 'cli-events.jsonl');
    const oneShot = runTsvmm(['--restore', `source_url=file://${snapshot},resume=on`, '--event-monitor', `path=${monitor}`], { timeoutMs: 120_000 });
    // Input typed before the restore has finished would be overwritten by the saved serial state.
    const monitored = (): string => (existsSync(monitor) ? readFileSync(monitor, 'utf8') : '');
    await waitUntil(() => monitored().includes('"resumed"'), 'the restored VM runs', 60_000, monitored);
    const again = await attachStream({ mode: 'Socket', socket: serialSocket });
    again.send('.');
    await again.waitFor('result=ok');
    await again.close();
    const result = await oneShot;
    t.equal(result.code, 0, `tsvmm --restore ...,resume=on runs the guest to its end and exits 0 (${result.stderr.slice(-300)})`);
  });
}

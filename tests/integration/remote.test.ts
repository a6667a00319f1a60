// tsvmm-remote against a real VMM (the CPL3 test guest): every command, its
// output and exit status, and the error paths (the server's message and a
// non-zero status; bad command lines; no VMM on the socket).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { VmConfig, VmInfo } from '../../src/api/client.js';
import { ApiVmm } from '../helpers/api.js';
import { testGuest, testGuestCmdline } from '../helpers/test-guest.js';
import { remote, type Run } from '../helpers/remote.js';
import { skipWithoutKvm } from '../helpers/tsvmm.js';
import { scaled } from '../helpers/wait.js';

if (!skipWithoutKvm(t, import.meta.url)) {
  t.test('every command against a running VMM', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'tsvmm-remote-'));
    const disk = join(dir, 'disk.img');
    writeFileSync(disk, Buffer.alloc(1024 * 1024));
    const config: VmConfig = {
      payload: { kernel: testGuest(), cmdline: testGuestCmdline('test=idle') },
      memory: { size: 64 * 2 ** 20 },
      serial: { mode: 'Socket', socket: join(dir, 'serial.sock') },
      disks: [{ path: disk, id: 'disk0' }],
    };
    const configFile = join(dir, 'vm.json');
    writeFileSync(configFile, JSON.stringify(config));
    const vmm = await ApiVmm.start();
    t.teardown(() => vmm.stop());
    const r = (...args: string[]): ReturnType<typeof remote> => remote(['--api-socket', vmm.socketPath, ...args]);
    /** `events --until EVENT`, once it surely follows the stream: it has printed a pause and resume made for it. */
    const follow = async (until: string): Promise<{ ended: Promise<Run> }> => {
      const events = r('events', '--until', until, '--timeout', String(scaled(30_000) / 1000));
      while (events.live.code === null && !events.live.stdout.includes('"event":"resumed"')) {
        await r('pause');
        await r('resume');
      }
      return { ended: events }; // wrapped: an async function would wait for a returned promise
    };
    const expectRefused = async (run: Promise<Run>, message: RegExp, what: string): Promise<void> => {
      const { code, stderr } = await run;
      t.equal(code, 1, `${what}: exit status 1`);
      t.match(stderr, message, `${what}: the server's message`);
    };

    const ping = await r('ping');
    t.equal(ping.code, 0);
    t.match(JSON.parse(ping.stdout), { version: /\d+\.\d+/, pid: vmm.child.pid }, 'ping prints the VMM as JSON');
    await expectRefused(r('info'), /no VM is created/, 'info before create');
    t.equal((await r('create', configFile)).code, 0, 'create FILE');
    await expectRefused(r('create', configFile), /already created/, 'a second create');
    t.equal((await r('add-disk', `path=${disk},readonly=on,id=disk1`)).code, 0, 'add-disk');
    await expectRefused(r('add-disk', `path=${disk},id=disk1`), /id disk1 exists/, 'add-disk with an id in use');
    t.equal((await r('add-net', 'remote=127.0.0.1:9,id=net0')).code, 0, 'add-net');
    const badNet = await r('add-net', 'bogus=1');
    t.equal(badNet.code, 2, 'add-net with a bad option string is a usage error');
    t.match(badNet.stderr, /--net: unknown key "bogus"/);
    await expectRefused(r('add-net', 'remote=nowhere'), /remote: Expected string to match/, 'add-net with a bad address');
    await expectRefused(r('add-disk', `path=${disk},num_queues=4`), /num_queues: 4 is not supported by tsvmm/, 'add-disk asking for 4 queues');

    t.equal((await r('boot')).code, 0, 'boot');
    await expectRefused(r('boot'), /cannot boot a VM that is Running/, 'boot twice');
    const info = JSON.parse((await r('info')).stdout) as VmInfo;
    t.equal(info.state, 'Running', 'info prints the state');
    t.same(info.config.disks?.map((d) => d.id), ['disk0', 'disk1'], 'and the added disk');
    t.match(info.config.net?.[0], { remote: '127.0.0.1:9', local: /:\d+$/ }, 'and the added NIC with its bound port');
    t.match(JSON.parse((await r('counters')).stdout), { disk0: {}, disk1: {}, net0: {} }, 'counters per device');

    t.equal((await r('pause')).code, 0, 'pause');
    await expectRefused(r('pause'), /cannot pause a VM that is Paused/, 'pause twice');
    t.equal((await r('resume')).code, 0, 'resume');
    await expectRefused(r('resume'), /cannot resume a VM that is Running/, 'resume twice');

    const attached = await r('console', '--until', 'TG cpl3', '--timeout', '10');
    t.equal(attached.code, 0, 'console --until matches the replayed output');
    t.match(attached.stdout, /TG cpl3/);
    t.equal((await r('console', '--until', 'never printed', '--timeout', '0.5')).code, 1, 'console --until times out with 1');

    const rebooted = await follow('vm:rebooted');
    t.equal((await r('reboot')).code, 0, 'reboot');
    const events = await rebooted.ended;
    t.equal(events.code, 0, 'events --until exits 0 at the event');
    t.match(events.stdout, /"event":"rebooting"[^]*"event":"rebooted"/, 'and printed the events as JSON lines');
    const missed = await r('events', '--until', 'vm:booted', '--timeout', '0.5');
    t.equal(missed.code, 1, 'events --until times out with 1');
    t.match(missed.stderr, 'tsvmm-remote: no vm:booted event within 0.5 s', 'and says so');

    t.equal((await r('power-button')).code, 0, 'power-button');
    const failed = await follow('vm:shutdown');
    t.equal((await r('nmi')).code, 0, 'nmi');
    const shutdown = await failed.ended;
    t.match(shutdown.stdout, /"reason":"failure"/, 'the test guest has no NMI handler: the NMI ended it');
    t.equal((await r('console', '--until', 'vector=2', '--timeout', '10')).code, 0, 'its report names vector 2 (NMI)');
    await expectRefused(r('shutdown'), /cannot shut down a VM that is Shutdown/, 'shutdown of a VM that is not running');
    await expectRefused(r('nmi'), /cannot inject an NMI/, 'nmi with no VM running');
    t.equal((await r('boot')).code, 0, 'boot again');
    t.equal((await r('shutdown')).code, 0, 'shutdown');
    t.equal((await r('delete')).code, 0, 'delete');
    t.equal((await remote(['--api-socket', vmm.socketPath, 'create', '-'], JSON.stringify(config))).code, 0, 'create - reads stdin');
    const notJson = await remote(['--api-socket', vmm.socketPath, 'create'], 'not json');
    t.equal(notJson.code, 2, 'create with a body that is not JSON is a usage error');
    t.equal((await r('shutdown-vmm')).code, 0, 'shutdown-vmm');
    await new Promise((resolve) => (vmm.child.exitCode === null ? vmm.child.once('exit', resolve) : resolve(null)));
    const gone = await r('ping');
    t.equal(gone.code, 3, 'no VMM on the socket: exit status 3');
    t.match(gone.stderr, /no tsvmm answers on/);
  });

  t.test('bad command lines', async (t) => {
    const help = await remote(['--help']);
    t.equal(help.code, 0);
    for (const command of ['ping', 'create', 'add-disk', 'add-net', 'shutdown-vmm', 'events', 'console', 'power-button']) {
      t.match(help.stdout, new RegExp(`\\n  ${command}`), `--help lists ${command}`);
    }
    for (const [args, message] of [
      [['ping'], /--api-socket PATH is required/],
      [['--api-socket', '/x', 'fly'], /unknown command "fly"/],
      [['--api-socket', '/x'], /no command given/],
      [['--api-socket', '/x', 'boot', 'now'], /boot takes no arguments/],
      [['--api-socket', '/x', 'add-disk'], /add-disk takes one option string/],
      [['--api-socket', '/x', 'coredump', 'file:///tmp/core'], /coredump is not supported by tsvmm/],
      [['--api-socket', '/x', 'snapshot'], /snapshot takes one destination URL/],
      [['--api-socket', '/x', 'events', '--until', 'booted'], /not SOURCE:EVENT/],
      [['--api-socket', '/x', 'ping', '--until', 'x'], /are for events and console/],
      [['--api-socket', '/x', 'events', '--timeout', 'soon'], /is not a number of seconds/],
    ] as Array<[string[], RegExp]>) {
      const run = await remote(args);
      t.equal(run.code, 2, `${args.join(' ')}: exit status 2`);
      t.match(run.stderr, message);
    }
  });
}

// Snapshot and restore of the kit's Linux with 2 vCPUs, a disk, a NIC on a
// UDP tunnel to a second VM (through a relay in the test, which follows the
// VM to new addresses), and the rng: a loop counts, prints the guest's uptime
// and writes its count to the disk; the VM is paused, snapshotted and shut
// down, and a new tsvmm process restores it with new tunnel addresses
// (network_overrides). The count continues where it was, the guest's clock
// does not go back, timers and interrupts fire on both vCPUs, the console
// answers, the NIC pings its peer from its new addresses, the rng gives
// bytes, and the disk holds the last count.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { TsvmmClient, VmConfig } from '../../src/api/client.js';
import { startClientVmm } from '../helpers/api.js';
import { attachStream, waitForMatch } from '../helpers/console-client.js';
import { freeUdpPorts, startUdpRelay } from '../helpers/net.js';
import { BASE_CMDLINE, guestKit, run64, skipWithoutKvm } from '../helpers/tsvmm.js';
import { waitUntil } from '../helpers/wait.js';

const MiB = 2 ** 20;
const upEth0 = (ip: string): string => `retry ip addr add ${ip}/24 dev eth0 && retry ip link set eth0 up`;

async function startVmm(t: Test): Promise<TsvmmClient> {
  return (await startClientVmm(t)).client;
}

/** Every `COUNT n uptime` line of an output. */
function counts(text: string): Array<{ n: number; uptime: number }> {
  return [...text.matchAll(/^COUNT (\d+) (\d+\.\d+)\r?$/gm)].map((m) => ({ n: Number(m[1]), uptime: Number(m[2]) }));
}

/** The LOC (local timer) interrupt counts per CPU from a `LOCn` line. */
function timerInterrupts(text: string, label: string): number[] {
  const line = new RegExp(`^${label} LOC:\\s+([\\d\\s]+)`, 'm').exec(text)?.[1] ?? '';
  return line.trim().split(/\s+/).map(Number).slice(0, 2);
}

if (!skipWithoutKvm(t, import.meta.url)) {
  t.test('Linux with 2 vCPUs, a disk, a UDP NIC and the rng continues in a new process', async (t) => {
    const kit = guestKit();
    const dir = mkdtempSync(join(tmpdir(), 'tsvmm-snapshot-linux-'));
    const disk = join(dir, 'disk.img');
    writeFileSync(disk, new Uint8Array(MiB));
    const [portA, portB, portC] = await freeUdpPorts(3);
    const relay = await startUdpRelay({ address: '127.0.0.1', port: portB as number }, 2);
    t.teardown(() => relay.close());
    const [relayBefore, relayAfter] = relay.vmSides;
    const serialSocket = join(dir, 'serial.sock');

    const peer = await startVmm(t);
    await peer.create({
      payload: { kernel: kit.vmlinux, initramfs: kit.initramfs, cmdline: `${BASE_CMDLINE} ${run64([upEth0('10.0.0.2'), 'sleep 100000'])}` },
      memory: { size: 128 * MiB }, serial: { mode: 'Null' }, console: { mode: 'Off' },
      net: [{ remote: `127.0.0.1:${relay.peerSide}`, local: `127.0.0.1:${portB}`, mac: '52:54:00:00:00:0b' }],
    });
    await peer.boot();

    const commands = [
      upEth0('10.0.0.1'),
      'i=0; until ping -c 1 -W 1 10.0.0.2 >/dev/null 2>&1; do i=$((i+1)); [ $i -gt 600 ] && break; done; echo PING_BEFORE_OK',
      '( n=0; while true; do n=$((n+1)); echo "COUNT $n $(cut -d" " -f1 /proc/uptime)"; echo "DISK $n" | dd of=/dev/vda bs=512 count=1 conv=fsync 2>/dev/null; sleep 0.3; done ) </dev/null &',
    ];
    const config: VmConfig = {
      payload: { kernel: kit.vmlinux, initramfs: kit.initramfs, cmdline: `${BASE_CMDLINE} ${run64(commands)} tsvmm.end=shell` },
      cpus: { boot_vcpus: 2, max_vcpus: 2 }, memory: { size: 256 * MiB },
      disks: [{ path: disk }], serial: { mode: 'Socket', socket: serialSocket }, console: { mode: 'Off' },
      net: [{ remote: `127.0.0.1:${relayBefore}`, local: `127.0.0.1:${portA}`, mac: '52:54:00:00:00:0a' }],
    };
    const source = await startVmm(t);
    await source.create(config);
    await source.boot();
    const before = await attachStream({ mode: 'Socket', socket: serialSocket });
    await waitForMatch(before, /PING_BEFORE_OK/, 'A pings B before the snapshot', 300_000);
    await waitUntil(() => counts(before.text()).length >= 10, 'ten counts', 120_000, () => before.text().slice(-400));
    await source.pause();
    const snapshot = join(dir, 'snapshot');
    await source.snapshot({ destination_url: `file://${snapshot}` });
    const last = counts(before.text()).at(-1) ?? { n: 0, uptime: 0 };
    await before.close();
    await source.shutdown();
    await source.delete();
    t.comment(`snapshot taken at count ${last.n}, guest uptime ${last.uptime} s`);

    const target = await startVmm(t);
    const moved = { id: '_net0', local: `127.0.0.1:${portC}`, remote: `127.0.0.1:${relayAfter}` };
    await target.restore({ source_url: `file://${snapshot}`, resume: true, network_overrides: [moved] });
    t.match((await target.info()).config.net?.[0], { ...moved, mac: '52:54:00:00:00:0a' }, 'vm.info shows the NIC on its new addresses, with its MAC');
    const after = await attachStream({ mode: 'Socket', socket: serialSocket });
    await waitUntil(() => counts(after.text()).length >= 5, 'five counts after the restore', 120_000, () => after.text().slice(-400));
    const resumed = counts(after.text());
    t.ok((resumed[0]?.n ?? 0) > last.n && (resumed[0]?.n ?? 0) <= last.n + 2, `the count continues where it was (${last.n}, then ${resumed.map((c) => c.n).join(' ')})`);
    t.ok(resumed.every((c, i) => c.n === (resumed[0]?.n ?? 0) + i), 'one by one: the guest timer fires');
    t.ok(resumed.every((c) => c.uptime >= last.uptime), `the guest's clock does not go back (${last.uptime} s, then ${resumed[0]?.uptime} s)`);

    after.send('echo CONSOLE_OK $((6*7))\n');
    await waitForMatch(after, /CONSOLE_OK 42/, 'the console answers');
    t.pass('the console answers a typed command');
    // The marker is split by '' so the console's echo of the command matches neither.
    after.send("ping -c 3 -W 2 10.0.0.2 >/dev/null && echo PING_AFTER_''OK || echo PING_AFTER_''FAILED\n");
    await waitForMatch(after, /PING_AFTER_(OK|FAILED)/, 'the NIC pings its peer');
    t.match(after.text(), /PING_AFTER_OK/, 'the guest gets its ping replies');
    t.ok(relay.heard.get(relayAfter as number)?.has(`127.0.0.1:${portC}`), 'the NIC on the UDP tunnel pings its peer from its new addresses');
    t.notOk(relay.heard.get(relayBefore as number)?.has(`127.0.0.1:${portC}`), 'and not through the old ones');
    after.send('echo RNG_BYTES $(dd if=/dev/hwrng bs=16 count=1 2>/dev/null | wc -c)\n');
    // The whole line: the serial port may have delivered "RNG_BYTES 1" and not yet the "6".
    await waitForMatch(after, /RNG_BYTES \d+\r?\n/, 'the rng');
    t.match(after.text(), /RNG_BYTES 16\r?\n/, 'the rng gives bytes');
    after.send('grep LOC /proc/interrupts | sed "s/^ */LOC1 /"; sleep 2; grep LOC /proc/interrupts | sed "s/^ */LOC2 /"; echo LOC_DONE\n');
    await waitForMatch(after, /^LOC_DONE/m, 'timer interrupts');
    const [first, second] = [timerInterrupts(after.text(), 'LOC1'), timerInterrupts(after.text(), 'LOC2')];
    t.ok(first.length === 2 && second.every((count, cpu) => count > (first[cpu] ?? Infinity)), `local timer interrupts on both vCPUs (${first.join('/')} then ${second.join('/')})`);

    const shown = counts(after.text()).at(-1)?.n ?? 0;
    const shutdown = target.waitForEvent((e) => e.source === 'vm' && e.event === 'shutdown');
    after.send('poweroff -f\n');
    await shutdown;
    await after.close();
    const written = /^DISK (\d+)/.exec(readFileSync(disk, 'latin1'))?.[1];
    t.ok(Number(written) >= shown - 1 && Number(written) > last.n, `the disk holds the count written after the restore (${written}; last shown ${shown})`);
  });
}

// Live migration of the kit's Linux (2 vCPUs, a disk, the rng, a UDP NIC)
// between tsvmm processes while the guest counts, writes its count to the disk
// and rewrites memory without pause: A -> B over a UNIX socket, then B -> D
// over TCP, the NIC given new addresses at each receiver (network_overrides).
// Every migration is a real one: its rounds are counted in events. What a
// killed migration leaves is migration-failures-linux.test.ts.
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { freeTcpPort, freeUdpPorts, udpListener } from '../helpers/net.js';
import { waitForMatch, type ConsoleClient } from '../helpers/console-client.js';
import {
  bootWritingGuest, checkGuestMemory, counts, countsGoOn, diskCount, follow, migrate, receive, serialOf, startNode, type Node,
} from '../helpers/migration.js';
import { skipWithoutKvm } from '../helpers/tsvmm.js';

/**
 * After a migration from `from` (whose console is `before`) to `to`: the count
 * goes on where it was, the guest's memory checks, and it pings through its
 * NIC (the ARP frames go to the tunnel's remote). Returns `to`'s console.
 */
async function takesOver(t: Test, before: ConsoleClient, from: string, to: Node, label: string): Promise<ConsoleClient> {
  const last = counts(before.text()).at(-1) ?? 0;
  await before.close();
  const now = await serialOf(to.client);
  const after = await countsGoOn(now, 3, `three counts on ${label}`);
  t.ok(after.some((n) => n > last && n <= last + 3), `the count continues on ${label} (last on ${from} ${last}, then ${after.slice(0, 3).join(' ')})`);
  await checkGuestMemory(t, now, label);
  now.send(`ping -c 2 -W 1 10.0.0.2 >/dev/null; echo PINGED_''${label}\n`);
  await waitForMatch(now, new RegExp(`^PINGED_${label}`, 'm'), `the guest pings through its NIC on ${label}`);
  return now;
}

if (!skipWithoutKvm(t, import.meta.url)) {
  t.test('a writing, counting Linux migrates between tsvmm processes over a UNIX socket and over TCP', async (t) => {
    // A UDP tunnel with no peer: each VMM on this host binds its own local port (network_overrides), and a
    // ping's ARP requests show which address the NIC sends from.
    const [localA, localB, localD] = await freeUdpPorts(3);
    const [remoteA, remoteB] = [await udpListener(), await udpListener()];
    t.teardown(() => { remoteA.close(); remoteB.close(); });
    const { node: a, console: onA, disk, dir } = await bootWritingGuest(t, { id: 'tunnel', local: `127.0.0.1:${localA}`, remote: `127.0.0.1:${remoteA.port}` });

    // A -> B over a UNIX socket, default downtime.
    const b = await startNode(t);
    const unixUrl = `unix:${join(dir, 'migration.sock')}`;
    const received = await receive(b, unixUrl, [{ id: 'tunnel', local: `127.0.0.1:${localB}`, remote: `127.0.0.1:${remoteB.port}` }]);
    const onDestination = await follow(b.client);
    const events = await migrate(a, { destination_url: unixUrl, timeout_s: 120, timeout_strategy: 'Ignore' });
    await received.reply;
    const resumed = await onDestination.until('migration-receive-finished');
    onDestination.stop();
    const rounds = events.filter((e) => e.event === 'migrating');
    t.ok(rounds.length > 0 && rounds.every((e) => Number(e.properties?.bytes_done) <= Number(e.properties?.bytes_total)), `progress events with bytes_done and bytes_total (${rounds.length})`);
    const finished = events.find((e) => e.event === 'migration-finished');
    t.ok(Number(finished?.properties?.rounds) >= 2, `pre-copy: the memory went while the guest ran, then its dirty pages (${JSON.stringify(finished?.properties)})`);
    const resumeMs = Number(resumed.properties?.resume_ms);
    t.ok(resumeMs > 0 && resumeMs <= Number(finished?.properties?.downtime_ms), `the destination's share of the downtime is part of it (${resumeMs} ms)`);
    t.equal((await a.client.info()).state, 'Shutdown', 'the source ends in Shutdown');
    t.equal((await b.client.info()).state, 'Running', 'the destination runs the VM');
    const onB = await takesOver(t, onA, 'A', b, 'B');
    t.ok(remoteB.senders.has(`127.0.0.1:${localB}`), 'the NIC sends from the address receive-migration gave it');
    onB.send('echo RNG_BYTES $(dd if=/dev/hwrng bs=16 count=1 2>/dev/null | wc -c)\n');
    await waitForMatch(onB, /RNG_BYTES 16/, 'the rng on B');
    t.pass('the rng gives bytes on B');

    // B -> D over TCP: a second migration of a VM that was migrated before.
    const d = await startNode(t);
    const tcpD = `tcp:127.0.0.1:${await freeTcpPort()}`;
    const receivedD = await receive(d, tcpD, [{ id: 'tunnel', local: `127.0.0.1:${localD}` }]);
    await migrate(b, { destination_url: tcpD, timeout_s: 120, timeout_strategy: 'Ignore' });
    await receivedD.reply;
    const onD = await takesOver(t, onB, 'B', d, 'D');
    t.ok(remoteB.senders.has(`127.0.0.1:${localD}`), 'on D from the local address it was given, to the remote it kept');
    onD.send('echo CONSOLE_OK $((6*7))\n');
    await waitForMatch(onD, /CONSOLE_OK 42/, 'the console on D');
    t.pass('the console answers on D');

    await d.client.pause();
    const shownOnD = counts(onD.text()).at(-1) ?? 0;
    await onD.close();
    const written = diskCount(readFileSync(disk));
    t.ok(written >= shownOnD - 1, `the disk holds the count D wrote last (${written}; last shown ${shownOnD})`);
  });
}

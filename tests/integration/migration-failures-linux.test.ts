// Killed live migrations of the kit's Linux while it counts, writes its disk
// and rewrites memory: with the destination killed mid-way the guest runs on
// at its source; with the source killed the destination is left without a VM,
// its socket removed, and can receive again.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ApiError } from '../../src/api/client.js';
import { freeTcpPort } from '../helpers/net.js';
import { bootWritingGuest, checkGuestMemory, counts, countsGoOn, diskCount, follow, receive, startEndlessMigration, startNode } from '../helpers/migration.js';
import { skipWithoutKvm } from '../helpers/tsvmm.js';
import { phaseClock } from '../helpers/wait.js';

if (!skipWithoutKvm(t, import.meta.url)) {
  t.test('a killed migration leaves one VM running, and a receiver ready again', async (t) => {
    const phase = phaseClock((message) => t.comment(message));
    const { node: a, console: onA, disk, dir } = await bootWritingGuest(t);
    phase('the guest counts');

    // A -> C over TCP, C killed in the rounds: A's guest runs on, its memory intact.
    const c = await startNode(t);
    const tcpC = `tcp:127.0.0.1:${await freeTcpPort()}`;
    const receivedC = await receive(c, tcpC);
    const toC = await startEndlessMigration(a, tcpC);
    phase('A -> C is in its rounds');
    c.vmm.child.kill('SIGKILL');
    const failedC = await toC.until('migration-failed');
    toC.stop();
    t.match(String(failedC.properties?.message), /connection|destination/, `killing the destination fails the migration (${failedC.properties?.message})`);
    await receivedC.reply.catch(() => undefined);
    t.equal((await a.client.info()).state, 'Running', 'A still runs the VM');
    await countsGoOn(onA, 2, 'counts on A after the failed migration');
    t.pass('the count goes on at the source');
    await checkGuestMemory(t, onA, 'A');
    phase('A checked its memory');

    // A -> E over a UNIX socket, A killed in the rounds: E has no VM and can receive again.
    const e = await startNode(t);
    const unixE = `unix:${join(dir, 'migration-e.sock')}`;
    const receivedE = await receive(e, unixE);
    const eEvents = await follow(e.client);
    const toE = await startEndlessMigration(a, unixE);
    phase('A -> E is in its rounds');
    const shownOnA = counts(onA.text()).at(-1) ?? 0;
    await onA.close();
    a.vmm.child.kill('SIGKILL');
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
    phase('E listens again');
    await e.client.shutdownVmm().catch(() => undefined);
    await again.reply.catch(() => undefined);

    const written = diskCount(readFileSync(disk));
    t.ok(written >= shownOnA - 1, `the disk holds the count A wrote last (${written}; last shown ${shownOnA})`);
  });
}

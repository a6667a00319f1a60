// -v levels and --log-file: one line per event with level and thread, API
// requests at info with method, path, status and duration.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { TsvmmClient } from '../../src/api/client.js';
import { ApiVmm } from '../helpers/api.js';
import { startupClockOrigin, tsvmmStartup } from '../helpers/guest-vmm.js';
import { testGuest, testGuestCmdline } from '../helpers/test-guest.js';
import { runTsvmm, skipWithoutKvm } from '../helpers/tsvmm.js';

const LINE = /^tsvmm: \d{4}-\d\d-\d\dT[\d:.]+Z (ERROR|WARN|INFO|DEBUG) \[(main|vmm|vcpu\d+)\] \S/;

if (!skipWithoutKvm(t, import.meta.url)) {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-logs-'));

  t.test('--log-file takes the log lines; each names its level and thread', async (t) => {
    const logFile = join(dir, 'debug.log');
    const result = await runTsvmm(['-vv', '--log-file', logFile, '--kernel', testGuest(), '--cmdline', testGuestCmdline('test=hello'), '--memory', 'size=64M']);
    t.equal(result.code, 0);
    t.equal(result.stderr, '', 'nothing on stderr');
    const lines = readFileSync(logFile, 'utf8').trim().split('\n');
    t.ok(lines.every((line) => LINE.test(line)), 'every line has the format');
    const threads = new Set(lines.map((line) => LINE.exec(line)?.[2]));
    t.ok(threads.has('vmm') && threads.has('vcpu0'), `lines come from the control loop and the vCPU (${[...threads].join(', ')})`);
    t.ok(lines.some((line) => line.includes('DEBUG')), '-vv logs at debug');
  });

  t.test('-vv logs the start-up steps and when their clock started, which the bench moves to count from exec', async (t) => {
    const logFile = join(dir, 'startup.log');
    const spawnedAt = Date.now();
    const result = await runTsvmm(['-vv', '--log-file', logFile, '--kernel', testGuest(), '--cmdline', testGuestCmdline('test=hello'), '--memory', 'size=64M']);
    const endedAt = Date.now();
    t.equal(result.code, 0);
    const text = readFileSync(logFile, 'utf8');
    const origin = startupClockOrigin(text) ?? NaN;
    t.ok(origin >= spawnedAt - 1 && origin <= endedAt, `the process started between its spawn and its end (${origin - spawnedAt} ms after the spawn)`);
    const { startupSteps, firstKvmRunMs } = tsvmmStartup(text, spawnedAt);
    t.same(startupSteps.map(({ step }) => step).slice(0, 3), ["the VMM's modules loaded", 'command line parsed', 'control loop running']);
    const loaded = startupSteps[0]?.ms ?? NaN;
    t.ok(firstKvmRunMs !== null && firstKvmRunMs >= loaded, `vcpu0 enters the guest (${firstKvmRunMs} ms) after the modules loaded (${loaded} ms)`);
  });

  t.test('API requests are logged at info with method, path, status and duration', async (t) => {
    const logFile = join(dir, 'api.log');
    const vmm = await ApiVmm.start(['-v', '--log-file', logFile]);
    const client = new TsvmmClient(vmm.socketPath);
    await client.ping();
    await t.rejects(client.boot(), { status: 404, code: 'VmNotCreated' });
    await client.close();
    await vmm.stop();
    const text = readFileSync(logFile, 'utf8');
    t.match(text, /INFO \[main\] api: GET \/api\/v1\/vmm\.ping 200 \d+us/);
    t.match(text, /INFO \[main\] api: PUT \/api\/v1\/vm\.boot 404 \d+us/);
    t.notMatch(text, /DEBUG/, '-v stops at info');
  });

  t.test('an unwritable --log-file is a usage error', async (t) => {
    const result = await runTsvmm(['--log-file', join(dir, 'no/such/dir/log'), '--api-socket', join(dir, 'x.sock')]);
    t.equal(result.code, 2);
    t.match(result.stderr, /--log-file: cannot open .*ENOENT/);
  });
}

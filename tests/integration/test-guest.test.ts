// The CPL3 test guest under tsvmm: the exit port, exits through both run
// loops, block data checked end to end, a hostile driver for every queue
// rule, hostile register values, flushed records that survive SIGKILL, and
// frames between two VMs over a UDP tunnel. It runs at native
// speed even where guest kernels are emulated, so these stay quick.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { freeUdpPorts } from '../helpers/net.js';
import { TsvmmClient } from '../../src/api/client.js';
import { blockPattern, HOSTILE_CASES, parseReport, runTestGuest, TEST_GUEST_TIMEOUT_MS, testGuest, testGuestCmdline, testGuestRecord } from '../helpers/test-guest.js';
import { runTsvmm, skipWithoutKvm } from '../helpers/tsvmm.js';

const dir = mkdtempSync(join(tmpdir(), 'tsvmm-test-guest-'));
const MIB = 2 ** 20;
const SECTOR = 512;

function disk(name: string, content: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

if (!skipWithoutKvm(t, import.meta.url)) {
  t.test('the guest reaches CPL3 and reports through the exit port; a non-zero value is a failure', async (t) => {
    const hello = await runTestGuest('test=hello');
    t.equal(hello.code, 0, hello.stderr);
    t.match(hello.stdout, /TG cpl3/);
    t.equal(hello.result, 'ok');
    const failing = await runTestGuest('test=no-such-test');
    t.equal(failing.result, 'fail');
    t.equal(failing.code, 1, 'exit status 1');
    t.match(failing.stderr, /the guest wrote 1 to the test exit port \(0xf4\)/);
  });

  t.test('--no-shutdown keeps tsvmm running after the guest powers off, until a signal', async (t) => {
    let poweredOff = 0;
    let child: ChildProcess | undefined;
    const run = runTsvmm(['--kernel', testGuest(), '--cmdline', testGuestCmdline('test=hello'), '--memory', 'size=64M', '--no-shutdown'],
      { watch: ['TG result=ok'], onMarker: () => { poweredOff = Date.now(); }, onSpawn: (spawned) => { child = spawned; } });
    while (!poweredOff) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const still = await Promise.race([run.then(() => false), Promise.resolve(true)]);
    t.ok(still, 'still running 1.5 s after the power-off');
    child?.kill('SIGTERM');
    const result = await run;
    t.equal(result.code, 0, 'SIGTERM ends it with 0');
  });

  t.test('port and MMIO exits, through the TypeScript loop and the C loop', async (t) => {
    for (const loop of ['typescript', 'c']) {
      for (const test of ['pio', 'mmio']) {
        const run = await runTestGuest(`test=${test} count=2000`, [], { env: { TSVMM_EXIT_LOOP: loop } });
        t.equal(run.result, 'ok', `${test} exits, ${loop} loop`);
        t.equal(run.values.exits, '2000');
      }
    }
    const touch = await runTestGuest('test=touch mib=32');
    t.equal(touch.values.pages, String(32 * 256), 'memory touch');
  });

  t.test('block: the guest reads the pattern the host wrote, writes the next one, flushes', async (t) => {
    const path = disk('verify.img', blockPattern(8 * MIB, 5n));
    const run = await runTestGuest('test=blk-verify seed=5', ['--disk', `path=${path}`]);
    t.equal(run.result, 'ok', run.stdout.slice(-300));
    t.equal(run.values.read_mismatches, '0');
    t.ok(readFileSync(path).equals(blockPattern(8 * MIB, 6n)), 'the host sees every byte the guest wrote');
  });

  t.test('block: sequential and random I/O at several queue depths, inline and in the thread pool', async (t) => {
    const path = disk('bench.img', new Uint8Array(16 * MIB));
    for (const direct of ['off', 'on']) {
      for (const cmdline of ['mode=read bs=65536 qd=4 total=16M', 'mode=write bs=4096 qd=32 total=4M', 'mode=randread bs=4096 qd=16 total=4M', 'mode=randwrite bs=8192 qd=8 total=4M']) {
        const run = await runTestGuest(`test=blk ${cmdline}`, ['--disk', `path=${path},direct=${direct}`]);
        t.equal(run.result, 'ok', `${cmdline}, direct=${direct}: ${run.stdout.slice(-200)}`);
      }
    }
  });

  t.test('a hostile driver breaks each queue rule: the device needs a reset, the VMM carries on, a reset recovers', async (t) => {
    const path = disk('hostile.img', new Uint8Array(MIB));
    for (const name of HOSTILE_CASES) {
      const run = await runTestGuest(`test=hostile case=${name}`, ['--disk', `path=${path}`]);
      t.equal(run.result, 'ok', `${name}: ${run.values.reason ?? ''}`);
      t.equal(run.values.needs_reset, '1', `${name}: DEVICE_NEEDS_RESET seen`);
      t.equal(run.values.recovered, '1', `${name}: the device works again after a reset`);
      t.match(run.stderr, /the device needs a reset/, `${name}: the VMM says why`);
    }
  });

  t.test('hostile values in every virtio-mmio register: the VM keeps running, the VMM answers, a reset recovers the device', async (t) => {
    const path = disk('registers.img', new Uint8Array(MIB));
    const socket = join(dir, 'registers.sock');
    let recovered = (): void => {};
    const recoveredSeen = new Promise<void>((resolve) => { recovered = resolve; });
    const run = runTsvmm(['--kernel', testGuest(), '--cmdline', testGuestCmdline('test=registers idle=1'), '--memory', 'size=64M',
      '--disk', `path=${path},id=data`, '--api-socket', `path=${socket}`], { timeoutMs: TEST_GUEST_TIMEOUT_MS, watch: ['TG recovered=1'], onMarker: () => recovered() });
    await Promise.race([recoveredSeen, run]);
    const client = new TsvmmClient(socket);
    const info = await client.info();
    t.equal(info.state, 'Running', 'the VM is still running');
    const counters = await client.counters();
    t.type(counters.data?.queue_failures, 'number', 'the disk still reports its counters');
    await client.shutdownVmm();
    await client.close();
    const result = await run;
    const report = parseReport(result.stdout);
    // tests.c: 0x110 / 4 offsets, 11 values at 32 bits and one each at 8, 16 and 64 bits.
    t.equal(Number(report.values.hostile_writes), (0x110 / 4) * 14, 'the guest made every hostile write');
    t.equal(report.values.recovered, '1', 'the device read after a reset');
    t.notMatch(result.stdout, /features-beyond-select/, 'selectors of 2 and more select no features, whatever their sign bit');
    t.equal(result.code, 0, result.stderr.slice(-500));
  });

  t.test('durability: every record the guest flushed is on the host file after SIGKILL at a random point', async (t) => {
    const RECORDS = 1000;
    const path = disk('records.img', new Uint8Array(RECORDS * SECTOR));
    for (let round = 1; round <= 4; round++) {
      const before = readFileSync(path);
      // Odd rounds kill once the guest acknowledged a random record; even rounds a random time after it started writing.
      const killAtAck = round % 2 === 1 ? 10 + Math.floor(Math.random() * 400) : undefined;
      const killAfterMs = Math.floor(Math.random() * 300);
      let lastAck = -1;
      let killScheduled = false;
      // Whole lines only: an ack split across two chunks is still counted.
      let partial = '';
      const result = await runTestGuest(`test=records count=${RECORDS} round=${round}`, ['--disk', `path=${path}`], {
        onSpawn: (child) => child.stdout?.on('data', (chunk: Buffer) => {
          const lines = (partial + chunk.toString()).split('\n');
          partial = lines.pop() ?? '';
          for (const [, ack] of lines.join('\n').matchAll(/TG ack=(\d+)/g)) lastAck = Math.max(lastAck, Number(ack));
          if (killScheduled || lastAck < 0 || (killAtAck !== undefined && lastAck < killAtAck)) return;
          killScheduled = true;
          if (killAtAck !== undefined) child.kill('SIGKILL');
          else setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        }),
      });
      const what = `round ${round} (${killAtAck === undefined ? `killed ${killAfterMs} ms after the first ack` : `killed at ack ${killAtAck}`})`;
      t.ok(lastAck >= 0, `${what}: the guest acknowledged records (last ${lastAck}; exit ${result.signal ?? result.code})`);
      t.ok(killScheduled, `${what}: the test's own kill ended tsvmm, not its timeout`);
      const after = readFileSync(path);
      let lost = 0;
      let torn = 0;
      for (let i = 0; i < RECORDS; i++) {
        const sector = after.subarray(i * SECTOR, (i + 1) * SECTOR);
        const isRecord = sector.equals(testGuestRecord(round, i));
        if (i <= lastAck && !isRecord) lost++;
        if (!isRecord && !sector.equals(before.subarray(i * SECTOR, (i + 1) * SECTOR))) torn++;
      }
      t.equal(lost, 0, `${what}: all ${lastAck + 1} acknowledged records are on the host`);
      t.equal(torn, 0, `${what}: every other sector holds its new record or what it held before`);
    }
  });

  t.test('net: two VMs in two processes over a UDP tunnel; every frame that arrives is intact', async (t) => {
    const [receiverPort, senderPort] = await freeUdpPorts(2);
    let ready = (): void => {};
    const receiverReady = new Promise<void>((resolve) => { ready = resolve; });
    const receiver = runTsvmm(['--kernel', testGuest(), '--cmdline', testGuestCmdline('test=net-recv'), '--memory', 'size=128M',
      '--net', `remote=127.0.0.1:${senderPort},local=127.0.0.1:${receiverPort}`], { timeoutMs: TEST_GUEST_TIMEOUT_MS, watch: ['TG ready'], onMarker: () => ready() });
    // The sender starts once the receiver's driver is up; frames before that could only be dropped.
    await Promise.race([receiverReady, receiver]);
    const sender = await runTestGuest('test=net-send frames=20000 size=1000',
      ['--net', `remote=127.0.0.1:${receiverPort},local=127.0.0.1:${senderPort}`]);
    t.equal(sender.result, 'ok');
    const received = await receiver;
    const report = received.stdout.split('\n').filter((line) => line.startsWith('TG ')).join(' ');
    t.equal(received.code, 0, received.stderr);
    t.match(report, /result=ok/);
    t.match(report, /bad=0/, 'no frame corrupted');
    const frames = Number(/frames=(\d+)/.exec(report)?.[1]);
    t.ok(frames > 0 && frames <= 20000, `${frames} of 20000 frames arrived (a UDP tunnel may drop; drops are counted)`);
  });
}

// The test guest's driver is written from the virtio specification, not
// from tsvmm's code. This cross-checks it against QEMU's devices: the same
// tests pass there, or the driver (not tsvmm) is wrong. Skipped without
// QEMU (npm run bench installs it); npm test never needs it.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { runGuest, startGuest } from '../helpers/guest-vmm.js';
import { freeUdpPorts } from '../helpers/net.js';
import { qemuAvailable } from '../helpers/qemu.js';
import { skipWithoutKvm } from '../helpers/tsvmm.js';
import { blockPattern, HOSTILE_CASES } from '../helpers/test-guest.js';

const MIB = 2 ** 20;

if (!skipWithoutKvm(t, import.meta.url)) {
  if (!qemuAvailable()) {
    t.plan(0, 'skipped: qemu-system-x86_64 is not installed (npm run bench installs it)');
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'tsvmm-qemu-check-'));

    t.test('block: the pattern read and written, random writes, on QEMU', async (t) => {
      const path = join(dir, 'verify.img');
      writeFileSync(path, blockPattern(4 * MIB, 3n));
      const verify = await runGuest({ vmm: 'qemu', cmdline: 'test=blk-verify seed=3', disk: { path } });
      t.equal(verify.result, 'ok', verify.stdout.slice(-200));
      t.ok(readFileSync(path).equals(blockPattern(4 * MIB, 4n)), 'QEMU wrote what the guest asked');
      const random = await runGuest({ vmm: 'qemu', cmdline: 'test=blk mode=randwrite bs=4096 qd=16 total=4M', disk: { path } });
      t.equal(random.result, 'ok');
    });

    t.test('every hostile case makes QEMU\'s device need a reset too, and a reset recovers it', async (t) => {
      const path = join(dir, 'hostile.img');
      writeFileSync(path, new Uint8Array(MIB));
      for (const name of HOSTILE_CASES) {
        const run = await runGuest({ vmm: 'qemu', cmdline: `test=hostile case=${name}`, disk: { path } });
        t.equal(run.result, 'ok', `${name}: ${run.values.reason ?? ''}`);
        t.equal(run.values.recovered, '1', name);
      }
    });

    t.test('net: two QEMU guests over a UDP tunnel, frames intact', async (t) => {
      const [a, b] = await freeUdpPorts(2) as [number, number];
      const receiver = startGuest({ vmm: 'qemu', cmdline: 'test=net-recv', net: { local: a, remote: b } });
      await receiver.seen('TG ready');
      const sender = await runGuest({ vmm: 'qemu', cmdline: 'test=net-send frames=5000 size=1000', net: { local: b, remote: a } });
      t.equal(sender.result, 'ok');
      const received = await receiver.done;
      t.equal(received.result, 'ok');
      t.equal(received.values.bad, '0');
    });
  }
}

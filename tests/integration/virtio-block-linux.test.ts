// virtio-blk on the kit's Linux: the guest reads a disk whose checksum the
// test knows, writes a pattern that the host then finds, a read-only disk
// refuses writes, GET_ID gives the configured id, and a discard reaches the
// image as a hole that reads as zeroes.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { BASE_CMDLINE, guestKit, runTsvmm, skipWithoutKvm } from '../helpers/tsvmm.js';

if (!skipWithoutKvm(t, import.meta.url)) {
  t.test('read, write, read-only and serial on real Linux', async (t) => {
    const kit = guestKit();
    const dir = mkdtempSync(join(tmpdir(), 'tsvmm-blk-linux-'));
    const diskA = join(dir, 'a.img');
    const diskB = join(dir, 'b.img');
    const original = randomBytes(4 * 2 ** 20);
    writeFileSync(diskA, original);
    writeFileSync(diskB, randomBytes(2 ** 20));
    const expectedMd5 = createHash('md5').update(original.subarray(0, 65536)).digest('hex');
    const commands = [
      'retry dd if=/dev/vda of=/tmp/head bs=4096 count=16 2>/dev/null; retry md5sum /tmp/head',
      'echo pattern-from-guest > /tmp/pattern; retry dd if=/tmp/pattern of=/dev/vda bs=512 seek=100 conv=sync 2>/dev/null',
      'retry sync',
      'echo write-rc=$?',
      'retry dd if=/dev/zero of=/dev/vdb bs=512 count=1 conv=fsync 2>/dev/null',
      'echo readonly-rc=$?',
      'read -r serial < /sys/block/vda/serial; echo serial=$serial',
      'read -r ro < /sys/block/vdb/ro; echo ro=$ro',
      'read -r discard_max < /sys/block/vda/queue/discard_max_bytes; echo discard-max=$discard_max',
      'retry blkdiscard -o 2097152 -l 1048576 /dev/vda',
      'echo discard-rc=$?',
    ].join('; ');
    const result = await runTsvmm([
      '--kernel', kit.vmlinux, '--initramfs', kit.initramfs, '--cmdline', `${BASE_CMDLINE} tsvmm.run="${commands}"`,
      '--memory', 'size=256M', '--serial', 'tty',
      '--disk', `path=${diskA},id=disk-a`, '--disk', `path=${diskB},readonly=on`,
    ]);
    t.equal(result.code, 0, `exit status (stderr: ${result.stderr.slice(-300)})`);
    t.match(result.stdout, /\[vda\] 8192 512-byte logical blocks/);
    t.match(result.stdout, new RegExp(`${expectedMd5}  /tmp/head`), 'the guest read what the host wrote');
    t.match(result.stdout, /write-rc=0/);
    t.match(result.stdout, /readonly-rc=1/, 'the read-only disk refused the write');
    t.match(result.stdout, /serial=disk-a/);
    t.match(result.stdout, /ro=1/);
    t.match(result.stdout, /discard-max=[1-9]/, 'the guest sees a discard-capable disk');
    t.match(result.stdout, /discard-rc=0/);
    const after = readFileSync(diskA);
    t.equal(after.subarray(100 * 512, 100 * 512 + 19).toString(), 'pattern-from-guest\n', 'the host sees the write');
    t.ok(after.subarray(100 * 512 + 19, 101 * 512).every((b) => b === 0), 'padded to the sector');
    t.ok(after.subarray(0, 100 * 512).equals(original.subarray(0, 100 * 512)), 'nothing else changed before it');
    t.ok(after.subarray(101 * 512, 2 * 2 ** 20).equals(original.subarray(101 * 512, 2 * 2 ** 20)), 'nothing else changed after it');
    t.ok(after.subarray(2 * 2 ** 20, 3 * 2 ** 20).every((b) => b === 0), 'the discarded MiB reads as zeroes');
    t.ok(after.subarray(3 * 2 ** 20).equals(original.subarray(3 * 2 ** 20)), 'the rest is untouched');
  });
}

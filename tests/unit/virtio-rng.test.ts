import { mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parseRng } from '../../src/config/options.js';
import { acpiDisabled, announceVirtioDevice, placeVirtioDevices } from '../../src/vm/virtio-devices.js';
import { VirtioRng } from '../../src/virtio/rng.js';
import { chain, serveOne } from '../helpers/virtio.js';

t.test('devices sit 4 KiB apart from the MMIO gap, on GSIs from 5 to 22, announced on the command line under acpi=off', async (t) => {
  const placements = placeVirtioDevices(3);
  t.same(placements, [{ base: 0xc0000000, gsi: 5 }, { base: 0xc0001000, gsi: 6 }, { base: 0xc0002000, gsi: 7 }]);
  t.equal(announceVirtioDevice(placements[1] as { base: number; gsi: number }), 'virtio_mmio.device=4K@0xc0001000:6');
  t.throws(() => placeVirtioDevices(19), /at most 18 fit/, 'validateVmConfig refuses more long before');
  t.ok(acpiDisabled('console=ttyS0 acpi=off quiet'), 'named on the command line only when the guest runs without ACPI');
  t.notOk(acpiDisabled('console=ttyS0 acpi=force'));
});

t.test('--rng', async (t) => {
  t.same(parseRng('src=/dev/random'), { src: '/dev/random' });
  t.throws(() => parseRng('source=/dev/random'), /unknown key "source"/);
  t.same(parseRng('src='), { src: '/dev/urandom' }, 'an empty value is unset');
});

t.test('the rng fills writable buffers from its source, and stops at its end', async (t) => {
  const source = join(mkdtempSync(join(tmpdir(), 'tsvmm-rng-')), 'entropy');
  writeFileSync(source, Uint8Array.from({ length: 10 }, (_, i) => i + 1));
  const rng = new VirtioRng('rng0', openSync(source, 'r'));
  const first = new Uint8Array(4);
  const second = new Uint8Array(8);
  const written = await serveOne(rng, chain([], [first, second]));
  t.equal(written, 10, 'a short source fills less, never more');
  t.same([...first], [1, 2, 3, 4]);
  t.same([...second], [5, 6, 7, 8, 9, 10, 0, 0]);
  await rng.close();
});

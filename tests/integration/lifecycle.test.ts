// The life cycle leaves nothing behind: 20 create/boot/shutdown/delete
// cycles (and 20 more with pause, resume and reboot in the middle, 20 of
// create and delete, 20 creates that fail) of a 2-vCPU VM with a disk, a
// UDP-tunnel NIC and an rng, and the VMM process has as many threads and
// file descriptors as before. The test guest spins
// at CPL3 so every vCPU is inside KVM_RUN when it is stopped.
import { readdirSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ApiVmm, expectOk } from '../helpers/api.js';
import { testGuest } from '../helpers/test-guest.js';
import { skipWithoutKvm } from '../helpers/tsvmm.js';

/** A thread or fd left per cycle shows after a few; 20 keep the file within L1's per-file limit, where a cycle takes seconds. */
const CYCLES = 20;

function counts(pid: number): { threads: number; fds: number } {
  return { threads: readdirSync(`/proc/${pid}/task`).length, fds: readdirSync(`/proc/${pid}/fd`).length };
}

if (!skipWithoutKvm(t, import.meta.url)) {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-lifecycle-'));
  const disk = join(dir, 'disk.img');
  writeFileSync(disk, new Uint8Array(2 ** 20));
  const config = {
    payload: { kernel: testGuest(), cmdline: 'acpi=off test=idle' },
    cpus: { boot_vcpus: 2, max_vcpus: 2 },
    memory: { size: 64 * 2 ** 20 },
    serial: { mode: 'Null' },
    disks: [{ path: disk }],
    net: [{ remote: '127.0.0.1:9', local: '127.0.0.1:0' }],
    rng: { src: '/dev/urandom' },
  };

  // A create that fails after its payload was read, or a create and a delete, leave nothing either.
  const failingCreate = { ...config, disks: [{ path: join(dir, 'no-such-disk.img') }] };
  type Actions = Array<[action: string, status: number]>;
  const createDelete: Actions = [['vm.create', 204], ['vm.delete', 204]];
  /**
   * Each cycle, and what runs once before the count to start what lives as long
   * as the process (libuv's thread pool, the /dev/kvm fd): the cycle itself,
   * unless what it would leave behind is what the test looks for.
   */
  const cycles: Array<[name: string, actions: Actions, warmUp?: Actions]> = [
    ['create, boot, shutdown, delete', [['vm.create', 204], ['vm.boot', 204], ['vm.shutdown', 204], ['vm.delete', 204]]],
    ['create, boot, pause, resume, reboot, pause, delete',
      [['vm.create', 204], ['vm.boot', 204], ['vm.pause', 204], ['vm.resume', 204], ['vm.reboot', 204], ['vm.pause', 204], ['vm.delete', 204]]],
    ['create, delete', createDelete],
    ['a create that fails on a missing disk', [['vm.create', 400]], createDelete],
  ];
  for (const [name, actions, warmUp = actions] of cycles) {
    t.test(`${CYCLES} cycles of ${name} leave no thread or fd behind`, async (t) => {
      const vmm = await ApiVmm.start();
      t.teardown(() => vmm.stop());
      const pid = vmm.child.pid as number;
      const run = async (round: Actions): Promise<void> => {
        for (const [action, status] of round) {
          const body = action !== 'vm.create' ? undefined : status === 204 ? config : failingCreate;
          expectOk(t, await vmm.call('PUT', action, body), status, action);
        }
      };
      await run(warmUp);
      const before = counts(pid);
      for (let i = 1; i < CYCLES; i++) await run(actions);
      // Worker threads end asynchronously after their VM is gone.
      let after = counts(pid);
      for (let wait = 0; wait < 50 && (after.threads > before.threads || after.fds > before.fds); wait++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        after = counts(pid);
      }
      t.equal(after.threads, before.threads, `threads: ${before.threads} before, ${after.threads} after`);
      t.equal(after.fds, before.fds, `file descriptors: ${before.fds} before, ${after.fds} after`);
    });
  }

  t.test('vmm.shutdown from every state ends the process and removes the socket', async (t) => {
    for (const setup of [[], ['vm.create'], ['vm.create', 'vm.boot'], ['vm.create', 'vm.boot', 'vm.pause'], ['vm.create', 'vm.boot', 'vm.shutdown']]) {
      const vmm = await ApiVmm.start();
      for (const action of setup) await vmm.call('PUT', action, action === 'vm.create' ? config : undefined);
      expectOk(t, await vmm.call('PUT', 'vmm.shutdown'), 204, `vmm.shutdown after ${setup.join(', ') || 'nothing'}`);
      const code = vmm.child.exitCode ?? await new Promise((resolve) => vmm.child.once('exit', resolve));
      t.equal(code, 0);
      t.notOk(readdirSync(join(vmm.socketPath, '..')).includes('api.sock'), 'socket removed');
      await vmm.stop();
    }
  });
}

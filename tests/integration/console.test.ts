// Console modes on a real VM (the CPL3 test guest echoes what it receives
// on COM1): for pty, socket and tcp, a client attaches, types, detaches,
// output made while no one is attached is replayed to the next client, and
// a second client of a socket or tcp console is told it is busy.
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { TsvmmClient, type ConsoleConfig } from '../../src/api/client.js';
import { ApiVmm } from '../helpers/api.js';
import { attachStream, waitFor, type ConsoleClient } from '../helpers/console-client.js';
import { testGuest, testGuestCmdline } from '../helpers/test-guest.js';
import { runTsvmm, skipWithoutKvm } from '../helpers/tsvmm.js';
import { sleep } from '../helpers/wait.js';

/** A pty client: the slave opened non-blocking and polled, as a terminal program would read it. */
async function attachPty(config: ConsoleConfig): Promise<ConsoleClient> {
  const fd = openSync(config.file ?? '', constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
  let text = '';
  const buffer = Buffer.alloc(4096);
  const poll = setInterval(() => {
    for (;;) {
      try {
        const n = readSync(fd, buffer);
        if (n <= 0) return;
        text += buffer.subarray(0, n).toString('latin1');
      } catch {
        return; // EAGAIN
      }
    }
  }, 5);
  return {
    text: () => text,
    send: (data) => writeSync(fd, data),
    waitFor: (needle) => waitFor(() => text, needle),
    close: async () => { clearInterval(poll); closeSync(fd); },
  };
}

const attach = (config: ConsoleConfig): Promise<ConsoleClient> => (config.mode === 'Pty' ? attachPty(config) : attachStream(config));

if (!skipWithoutKvm(t, import.meta.url)) {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-console-'));
  const modes: ConsoleConfig[] = [
    { mode: 'Socket', socket: join(dir, 'serial.sock') },
    { mode: 'Tcp', tcp: '0' },
    { mode: 'Pty' },
  ];

  for (const serial of modes) {
    t.test(`${serial.mode} console: attach, type, detach, reattach without losing output`, async (t) => {
      const vmm = await ApiVmm.start();
      t.teardown(() => vmm.stop());
      const client = new TsvmmClient(vmm.socketPath);
      t.teardown(() => client.close());
      await client.create({ payload: { kernel: testGuest(), cmdline: testGuestCmdline('test=echo') }, memory: { size: 64 * 2 ** 20 }, serial });
      const resolved = (await client.info()).config.serial ?? { mode: 'Off' };
      if (serial.mode === 'Tcp') t.match(resolved.tcp, /^127\.0\.0\.1:[1-9]\d*$/, 'vm.info shows the bound loopback port');
      if (serial.mode === 'Pty') t.match(resolved.file, /^\/dev\/pts\/\d+$/, 'vm.info shows the pty path');
      await client.boot();

      const first = await attach(resolved);
      await first.waitFor('TG echo ready');
      t.pass('the first client gets the output made before it attached');
      first.send('abc');
      await first.waitFor('abc');
      t.pass('and its input reaches the guest, whose echo comes back');
      if (serial.mode !== 'Pty') {
        const second = await attach(resolved);
        await second.waitFor('busy');
        t.pass('a second client is told the console is busy');
        await second.close();
      }
      first.send('xyz');
      await first.close();
      await sleep(300); // the echo of xyz is made while no one is attached

      const again = await attach(resolved);
      await again.waitFor('abcxyz');
      t.match(again.text(), /TG cpl3[^]*TG echo ready\r?\nabcxyz/, 'the next client gets everything, in order');
      again.send('.');
      await again.waitFor('result=ok');
      await again.close();
    });
  }

  t.test('file mode writes the output to the file; null discards it', async (t) => {
    const file = join(dir, 'serial.log');
    const hello = await runTsvmm(['--kernel', testGuest(), '--cmdline', testGuestCmdline('test=hello'), '--memory', 'size=64M', '--serial', `file=${file}`]);
    t.equal(hello.code, 0);
    t.match(readFileSync(file, 'utf8'), /TG result=ok/, 'file= gets the output');
    t.equal(hello.stdout, '', 'and stdout none of it');
    const quiet = await runTsvmm(['--kernel', testGuest(), '--cmdline', testGuestCmdline('test=hello'), '--memory', 'size=64M', '--serial', 'null']);
    t.equal(quiet.code, 0);
    t.equal(quiet.stdout, '', 'null discards the output');
  });

  t.test('a tcp console on a port in use, or a socket path that is not a socket, is refused at create', async (t) => {
    const vmm = await ApiVmm.start();
    t.teardown(() => vmm.stop());
    const client = new TsvmmClient(vmm.socketPath);
    t.teardown(() => client.close());
    const payload = { kernel: testGuest(), cmdline: testGuestCmdline('test=idle') };
    await client.create({ payload, serial: { mode: 'Tcp', tcp: '0' } });
    const taken = (await client.info()).config.serial?.tcp ?? '';
    const second = await ApiVmm.start();
    t.teardown(() => second.stop());
    const other = new TsvmmClient(second.socketPath);
    t.teardown(() => other.close());
    await t.rejects(other.create({ payload, serial: { mode: 'Tcp', tcp: taken } }), { status: 400, code: 'InvalidConfig', message: /cannot listen on .*EADDRINUSE/ });
    await t.rejects(other.create({ payload, serial: { mode: 'Socket', socket: join(dir) } }), { status: 400, code: 'ResourceBusy', message: /not a socket/ });
    await t.rejects(other.create({ payload, serial: { mode: 'Tcp', tcp: 'example.org:80' } }), { status: 400, code: 'InvalidConfig', message: /does not name an IP address/ });
  });
}

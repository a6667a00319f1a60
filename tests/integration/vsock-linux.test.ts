// virtio-vsock on the kit's Linux (AF_VSOCK through virtio_transport), with
// a static tool in the guest (guest/vsock-tool) and host programs on the
// UNIX sockets, as Cloud Hypervisor's and Firecracker's users run them:
// - guest to host: CONNS connections at once to port 6000, bridged to the
//   host's echo server on PATH_6000, each checked byte for byte in the guest;
// - host to guest: CONNS connections through "CONNECT 5000\n" to the guest's
//   echo server, each "OK <port>\n" then checked by SHA-256 on the host;
// - a guest that accepts and never reads: the host program is held back and
//   tsvmm passes on no more than the guest's buffer;
// - CONNECT to a port nobody listens on: the socket closes without "OK".
// In L1 (guest code under nested emulation) each connection moves 4 MiB
// instead of 16 MiB.
import { createHash, randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { writeKitInitramfsWithVsockTool } from '../../guest/vsock-tool.js';
import { ApiClient } from '../helpers/api.js';
import { BASE_CMDLINE, guestKit, run64, runTsvmm, skipWithoutKvm } from '../helpers/tsvmm.js';
import { TIME_SCALE, waitUntil } from '../helpers/wait.js';

const CONNS = 64;
const BYTES = TIME_SCALE > 1 ? 4 * 2 ** 20 : 16 * 2 ** 20;
const GUEST_ECHO = 5000;
const GUEST_HOLD = 5001;
const HOST_ECHO = 6000;

/** Connects to tsvmm's vsock socket and asks for `port`; resolves with the socket and the reply line. */
function hostConnect(path: string, port: number): Promise<{ socket: Socket; reply: string }> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path, allowHalfOpen: true }, () => socket.write(`CONNECT ${port}\n`));
    let line = '';
    const onData = (chunk: Buffer): void => {
      line += chunk.toString('latin1');
      const end = line.indexOf('\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.pause();
      if (end + 1 < line.length) socket.unshift(Buffer.from(line.slice(end + 1), 'latin1'));
      resolve({ socket, reply: line.slice(0, end + 1) });
    };
    socket.on('data', onData);
    // Half-open: tsvmm's end of stream is 'end' here, not 'close'.
    socket.once('end', () => resolve({ socket, reply: line }));
    socket.once('close', () => resolve({ socket, reply: line }));
    socket.once('error', reject);
  });
}

/** Sends `bytes` through the guest's echo server and resolves with the SHA-256 of what came back. */
async function echoThroughGuest(path: string, bytes: Buffer): Promise<{ reply: string; digest: string; length: number }> {
  const { socket, reply } = await hostConnect(path, GUEST_ECHO);
  const hash = createHash('sha256');
  let length = 0;
  socket.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    length += chunk.length;
  });
  socket.resume();
  socket.end(bytes);
  await new Promise((resolve) => socket.once('end', resolve).once('close', resolve));
  socket.destroy();
  return { reply, digest: hash.digest('hex'), length };
}

if (!skipWithoutKvm(t, import.meta.url)) {
  t.test(`vsock both ways: ${CONNS} connections each way, ${BYTES / 1024} KiB each, a guest that stops reading`, async (t) => {
    const kit = guestKit();
    const dir = mkdtempSync(join(tmpdir(), 'tsvmm-vsock-linux-'));
    const initramfs = join(dir, 'initramfs.cpio');
    writeKitInitramfsWithVsockTool(initramfs);
    const vsockPath = join(dir, 'vsock.sock');
    const apiSocket = join(dir, 'api.sock');

    const echo = createServer({ allowHalfOpen: true }, (socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => echo.listen(`${vsockPath}_${HOST_ECHO}`, resolve));
    t.teardown(() => echo.close());

    const guest = [
      `vsock-tool listen ${GUEST_ECHO} &`,
      `vsock-tool hold ${GUEST_HOLD} &`,
      `vsock-tool send ${HOST_ECHO} ${BYTES} ${CONNS}`,
      'sleep 100000',
    ];
    const seen = new Set<string>();
    let child: ChildProcess | undefined;
    const run = runTsvmm([
      '--kernel', kit.vmlinux, '--initramfs', initramfs, '--memory', 'size=512M', '--serial', 'tty',
      '--api-socket', `path=${apiSocket}`, '--vsock', `cid=3,socket=${vsockPath}`,
      '--cmdline', `${BASE_CMDLINE} ${run64(guest)}`,
    ], {
      timeoutMs: 600_000,
      watch: [`vsock-tool listening ${GUEST_ECHO}`, `vsock-tool listening ${GUEST_HOLD}`, 'vsock-tool send ok', 'vsock-tool send FAIL'],
      onMarker: (marker) => seen.add(marker),
      onSpawn: (spawned) => { child = spawned; },
    });
    const ended = { now: false };
    void run.then(() => { ended.now = true; });
    const output = async (): Promise<string> => ended.now ? (await run).stdout.slice(-2000) : '';
    await waitUntil(() => ended.now || seen.has('vsock-tool send ok') || seen.has('vsock-tool send FAIL'), 'the guest\'s connections to the host', 600_000);
    t.ok(seen.has('vsock-tool send ok'), `guest to host: ${CONNS} connections, every byte echoed intact ${await output()}`);

    await waitUntil(() => ended.now || seen.has(`vsock-tool listening ${GUEST_HOLD}`), 'the guest\'s listeners', 60_000);
    const payloads = Array.from({ length: CONNS }, () => randomBytes(BYTES));
    const results = await Promise.all(payloads.map((bytes) => echoThroughGuest(vsockPath, bytes)));
    t.ok(results.every((r) => /^OK \d+\n$/.test(r.reply) && Number(r.reply.slice(3)) >= 2 ** 30), 'each CONNECT got OK <host port>');
    t.ok(results.every((r, i) => r.digest === createHash('sha256').update(payloads[i] as Buffer).digest('hex')),
      `host to guest: ${CONNS} connections, every byte echoed intact (lengths ${[...new Set(results.map((r) => r.length))].join(', ')})`);

    const api = new ApiClient(apiSocket);
    t.teardown(() => api.close());
    const vsockCounters = async (): Promise<Record<string, number>> =>
      ((await api.call('GET', 'vm.counters')).body as Record<string, Record<string, number>>)._vsock0 ?? {};
    const held = await hostConnect(vsockPath, GUEST_HOLD);
    t.match(held.reply, /^OK \d+\n$/, 'the holding listener accepted');
    const before = (await vsockCounters()).rx_bytes ?? 0;
    // Far more than the guest's socket buffer (256 KiB), tsvmm's (64 KiB) and the kernel's for a UNIX socket.
    const OFFERED = 8 * 2 ** 20;
    held.socket.write(Buffer.alloc(OFFERED, 1));
    // tsvmm passes on what the guest has room for, then stops reading: rx_bytes settles.
    let latest = -1;
    let previous = -2;
    const poller = setInterval(() => void vsockCounters().then((c) => { previous = latest; latest = (c.rx_bytes ?? 0) - before; }), 1000);
    await waitUntil(() => latest > 0 && latest === previous, 'the bytes passed to the guest to settle', 60_000);
    clearInterval(poller);
    t.ok(latest <= 2 ** 20, `a guest that stops reading got ${latest} bytes, about its socket buffer, of ${OFFERED}`);
    t.ok(held.socket.writableLength > OFFERED / 2, `the rest (${held.socket.writableLength} bytes) waits in the host program, not in tsvmm`);
    held.socket.destroy();

    const nobody = await hostConnect(vsockPath, 5999);
    t.equal(nobody.reply, '', 'CONNECT to a port nobody listens on: closed without OK');
    t.match(await vsockCounters(), { connections_opened: 2 * CONNS + 2, protocol_errors: 0 }, 'the counters');

    child?.kill('SIGTERM');
    const result = await run;
    t.equal(result.signal ?? result.code, result.signal ? 'SIGTERM' : 0, `tsvmm ended by the test (stderr: ${result.stderr.slice(-300)})`);
  });
}

// vsock between a host program and the kit's Linux, through tsvmm's hybrid
// vsock (CONNECT <port> on a UNIX socket, the guest's echo server from
// guest/vsock-tool): connection set-up latency (connect, CONNECT, OK) and
// echo throughput on one connection. The ceiling beside it is the same
// exchange with an echo server on the host over a plain UNIX socket. QEMU's
// vhost-vsock needs /dev/vhost-vsock, which L1 (and most hosts without the
// vhost_vsock module) lacks: the QEMU column is n/a, and the reason is in the JSON.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeKitInitramfsWithVsockTool } from '../../guest/vsock-tool.js';
import { BASE_CMDLINE, guestKit, run64, TSVMM } from '../helpers/tsvmm.js';
import { summarize, WORK_DIVISOR, type LatencySummary } from './stats.js';

const ECHO_PORT = 5000;
const CONNECTIONS = 200 / WORK_DIVISOR;
const ECHO_BYTES = (256 * 2 ** 20) / WORK_DIVISOR;

export interface VsockBenchResult {
  tsvmm: { connect: LatencySummary; echo_mib_s: number };
  unix_socket: { connect: LatencySummary; echo_mib_s: number };
  qemu_vhost_vsock: string;
}

/** Opens a connection and reads the first line; `request` is written first (the CONNECT). */
function connectAndGreet(path: string, request: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path, () => socket.write(request));
    let line = '';
    const onData = (chunk: Buffer): void => {
      line += chunk.toString('latin1');
      if (!line.includes('\n')) return;
      socket.off('data', onData);
      if (!line.startsWith('OK ')) reject(new Error(`no OK: ${JSON.stringify(line)}`));
      else resolve(socket);
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

async function connectLatency(path: string, request: string): Promise<LatencySummary> {
  const samples: bigint[] = [];
  for (let i = 0; i < CONNECTIONS; i++) {
    const start = process.hrtime.bigint();
    const socket = await connectAndGreet(path, request);
    samples.push(process.hrtime.bigint() - start);
    socket.destroy();
  }
  return summarize(samples);
}

/** Sends ECHO_BYTES and reads them back on one connection; MiB/s of the round trip. */
async function echoThroughput(path: string, request: string): Promise<number> {
  const socket = await connectAndGreet(path, request);
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  const start = process.hrtime.bigint();
  let received = 0;
  const done = new Promise<void>((resolve) => socket.on('data', (data: Buffer) => {
    received += data.length;
    if (received >= ECHO_BYTES) resolve();
  }));
  for (let sent = 0; sent < ECHO_BYTES; sent += chunk.length) {
    if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
  }
  await done;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  socket.destroy();
  return Math.round((ECHO_BYTES / 2 ** 20 / seconds) * 10) / 10;
}

/** The ceiling: an echo server on the host that greets like tsvmm does. */
async function unixEchoServer(path: string): Promise<Server> {
  const server = createServer((socket) => {
    socket.once('data', () => {
      socket.write('OK 1\n');
      socket.pipe(socket);
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return server;
}

export async function benchVsock(): Promise<VsockBenchResult> {
  const kit = guestKit();
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-bench-vsock-'));
  const initramfs = join(dir, 'initramfs.cpio');
  writeKitInitramfsWithVsockTool(initramfs);
  const vsockPath = join(dir, 'vsock.sock');
  const child = spawn(process.execPath, [TSVMM, '--kernel', kit.vmlinux, '--initramfs', initramfs, '--memory', 'size=256M',
    '--serial', 'tty', '--console', 'off', '--vsock', `cid=3,socket=${vsockPath}`,
    '--cmdline', `${BASE_CMDLINE} ${run64([`vsock-tool listen ${ECHO_PORT}`])}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    let output = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes(`vsock-tool listening ${ECHO_PORT}`)) resolve();
      });
      child.once('close', () => reject(new Error(`tsvmm ended before the guest listened: ${output.slice(-500)}`)));
    });
    const request = `CONNECT ${ECHO_PORT}\n`;
    const tsvmm = { connect: await connectLatency(vsockPath, request), echo_mib_s: await echoThroughput(vsockPath, request) };
    const ceilingPath = join(dir, 'echo.sock');
    const server = await unixEchoServer(ceilingPath);
    const unixSocket = { connect: await connectLatency(ceilingPath, request), echo_mib_s: await echoThroughput(ceilingPath, request) };
    server.close();
    const qemu = existsSync('/dev/vhost-vsock') ? 'not measured: the QEMU side is not written yet' : 'no /dev/vhost-vsock here (the vhost_vsock module)';
    return { tsvmm, unix_socket: unixSocket, qemu_vhost_vsock: qemu };
  } finally {
    child.kill('SIGKILL');
  }
}

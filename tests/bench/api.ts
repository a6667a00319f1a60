// API latency and throughput: tsvmm's REST API over its UNIX socket, and
// QEMU's QMP `query-status` measured the same way when QEMU is installed.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'undici';
import { ApiVmm } from '../helpers/api.js';
import { callApi, DbusVmm, PrivateBus } from '../helpers/dbus.js';
import { buildTestElf, HALT_FOREVER } from '../helpers/elf.js';
import { qemuAvailable } from '../helpers/qemu.js';
import { Qmp } from '../helpers/qmp.js';
import { summarize, WORK_DIVISOR, type LatencySummary } from './stats.js';

export interface ApiBenchResult {
  ping: LatencySummary;
  info: LatencySummary;
  throughput_rps: number;
  qmp_query_status?: LatencySummary;
}

export const SEQUENTIAL = 10_000 / WORK_DIVISOR;
const CONCURRENT_CONNECTIONS = 16;
const CONCURRENT_REQUESTS = 20_000 / WORK_DIVISOR;

async function sequential(client: Client, path: string, count: number): Promise<LatencySummary> {
  const samples: bigint[] = [];
  for (let i = 0; i < count; i++) {
    const start = process.hrtime.bigint();
    const response = await client.request({ method: 'GET', path });
    await response.body.text();
    samples.push(process.hrtime.bigint() - start);
    if (response.statusCode !== 200) throw new Error(`${path} answered ${response.statusCode}`);
  }
  return summarize(samples);
}

async function throughput(socketPath: string): Promise<number> {
  const clients = Array.from({ length: CONCURRENT_CONNECTIONS }, () => new Client('http://localhost', { socketPath }));
  const perClient = CONCURRENT_REQUESTS / CONCURRENT_CONNECTIONS;
  const start = process.hrtime.bigint();
  await Promise.all(clients.map(async (client) => {
    for (let i = 0; i < perClient; i++) {
      const response = await client.request({ method: 'GET', path: '/api/v1/vmm.ping' });
      await response.body.text();
    }
  }));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await Promise.all(clients.map((c) => c.close()));
  return Math.round(CONCURRENT_REQUESTS / seconds);
}

export async function benchTsvmmApi(): Promise<Omit<ApiBenchResult, 'qmp_query_status'>> {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-bench-'));
  const kernel = join(dir, 'halt.elf');
  writeFileSync(kernel, buildTestElf({ segments: [{ address: 0x100000, code: HALT_FOREVER }], pvhEntry: 0x100000 }));
  const vmm = await ApiVmm.start();
  try {
    await vmm.call('PUT', 'vm.create', { payload: { kernel }, memory: { size: 64 * 2 ** 20 }, serial: { mode: 'Null' } });
    await sequential(vmm.client, '/api/v1/vmm.ping', 1000); // warm-up
    const ping = await sequential(vmm.client, '/api/v1/vmm.ping', SEQUENTIAL);
    const info = await sequential(vmm.client, '/api/v1/vm.info', SEQUENTIAL);
    return { ping, info, throughput_rps: await throughput(vmm.socketPath) };
  } finally {
    await vmm.stop();
  }
}

export interface DbusBenchResult {
  ping: LatencySummary;
  info: LatencySummary;
}

async function sequentialDbus(call: () => Promise<boolean>, count: number): Promise<LatencySummary> {
  const samples: bigint[] = [];
  for (let i = 0; i < count; i++) {
    const start = process.hrtime.bigint();
    if (!await call()) throw new Error('a D-Bus call failed');
    samples.push(process.hrtime.bigint() - start);
  }
  return summarize(samples);
}

/** VmmPing and VmInfo over D-Bus (a private bus, the library's client), one call at a time, as the REST figures. */
export async function benchDbusApi(): Promise<DbusBenchResult | undefined> {
  let bus: PrivateBus;
  try {
    bus = await PrivateBus.start();
  } catch (error) {
    process.stderr.write(`bench: no D-Bus figures: ${(error as Error).message}\n`);
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-bench-dbus-'));
  const kernel = join(dir, 'halt.elf');
  writeFileSync(kernel, buildTestElf({ segments: [{ address: 0x100000, code: HALT_FOREVER }], pvhEntry: 0x100000 }));
  const vmm = await DbusVmm.start(bus);
  const client = await bus.client();
  try {
    await callApi(client, vmm, 'VmCreate', [JSON.stringify({ payload: { kernel }, memory: { size: 64 * 2 ** 20 }, serial: { mode: 'Null' } })]);
    const ping = async (): Promise<boolean> => (await callApi(client, vmm, 'VmmPing')).ok;
    const info = async (): Promise<boolean> => (await callApi(client, vmm, 'VmInfo')).ok;
    await sequentialDbus(ping, 1000); // warm-up
    return { ping: await sequentialDbus(ping, SEQUENTIAL), info: await sequentialDbus(info, SEQUENTIAL) };
  } finally {
    await client.close();
    await vmm.stop();
    bus.stop();
  }
}

export async function benchQmp(): Promise<LatencySummary | undefined> {
  if (!qemuAvailable()) return undefined;
  const socketPath = join(mkdtempSync(join(tmpdir(), 'tsvmm-bench-qmp-')), 'qmp.sock');
  const qemu = spawn('qemu-system-x86_64', [
    '-M', 'microvm', '-accel', 'kvm', '-m', '64M', '-nodefaults', '-nographic', '-S',
    '-qmp', `unix:${socketPath},server=on,wait=off`,
  ], { stdio: 'ignore' });
  try {
    const qmp = await Qmp.open(socketPath);
    if (!qmp) return undefined;
    for (let i = 0; i < 1000; i++) await qmp.execute('query-status');
    const samples: bigint[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      const start = process.hrtime.bigint();
      await qmp.execute('query-status');
      samples.push(process.hrtime.bigint() - start);
    }
    qmp.close();
    return summarize(samples);
  } finally {
    qemu.kill('SIGKILL');
  }
}

// `npm run bench`: runs the benchmarks, prints a table with tsvmm beside
// QEMU where QEMU is installed, and writes the numbers as JSON
// (bench-results.json, or the path given with --out).
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { kvmAvailable } from '../../src/vm/kvm.js';
import { benchQmp, benchTsvmmApi } from './api.js';
import { bootQemu, bootTsvmm, type BootTiming } from './boot.js';
import type { GuestVmm } from '../helpers/guest-vmm.js';
import { ensureQemu } from '../helpers/qemu.js';
import type { LatencySummary } from './stats.js';
import {
  benchBlock, benchExits, benchImage, benchMemory, benchNet, benchSerial, benchStartup, benchTouch, type PerVmm,
} from './test-guest.js';

interface Row {
  benchmark: string;
  tsvmm: string;
  qemu: string;
}

const latency = (s: LatencySummary | undefined): string => (s ? `${s.p50_us} / ${s.p99_us}` : 'n/a');
const seconds = (ms: number | null | undefined): string => (ms === null || ms === undefined ? 'n/a' : (ms / 1000).toFixed(1));
const boot = (b: BootTiming | undefined): string => (b ? `${seconds(b.marker_ms)} / ${seconds(b.exit_ms)}` : 'n/a');
const value = (v: number | undefined): string => (v === undefined ? 'n/a' : String(v));

/** One row from per-VMM figures; the tsvmm column shows the C loop beside it when measured. */
function guestRow(benchmark: string, figures: PerVmm | undefined): Row {
  const tsvmm = value(figures?.tsvmm);
  const cLoop = figures?.['tsvmm-c-loop'];
  const ratio = cLoop && figures?.tsvmm ? ` (C loop ${cLoop}, ${(figures.tsvmm / cLoop).toFixed(2)}x)` : '';
  return { benchmark, tsvmm: `${tsvmm}${ratio}`, qemu: value(figures?.qemu) };
}

function printTable(rows: Row[]): void {
  const headers: Row = { benchmark: 'benchmark', tsvmm: 'tsvmm', qemu: 'QEMU' };
  const widths = (Object.keys(headers) as Array<keyof Row>).map((key) =>
    Math.max(headers[key].length, ...rows.map((row) => row[key].length)));
  const line = (row: Row): string =>
    `| ${(Object.keys(headers) as Array<keyof Row>).map((key, i) => row[key].padEnd(widths[i] ?? 0)).join(' | ')} |`;
  process.stdout.write(`${line(headers)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n`);
  for (const row of rows) process.stdout.write(`${line(row)}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { out: { type: 'string', default: 'bench-results.json' }, 'skip-boot': { type: 'boolean', default: false } },
  });
  const kvm = kvmAvailable();
  if (!kvm) process.stderr.write('bench: /dev/kvm is not available; VM benchmarks need it\n');
  const qemu = ensureQemu();
  if (!qemu) process.stderr.write('bench: QEMU is not installed (apt-get install qemu-system-x86): no QEMU column\n');
  const vmms: GuestVmm[] = qemu ? ['tsvmm', 'qemu'] : ['tsvmm'];
  const image = kvm ? benchImage() : undefined;
  const exits = image ? await benchExits(vmms, image) : undefined;
  const startup = kvm ? await benchStartup(vmms) : undefined;
  const memory = kvm ? await benchMemory(vmms) : undefined;
  const touch = kvm ? await benchTouch(vmms) : undefined;
  const block = image ? await benchBlock(vmms, image) : undefined;
  const net = kvm ? await benchNet(vmms) : undefined;
  const serial = kvm ? await benchSerial(vmms) : undefined;
  const api = await benchTsvmmApi();
  const qmp = await benchQmp();
  // One boot at a time: guest kernel code is CPU-bound here, and two at once would slow both.
  const runBoots = !values['skip-boot'] && kvmAvailable();
  const tsvmmPvh = runBoots ? await bootTsvmm('vmlinux') : undefined;
  const tsvmmBzImage = runBoots ? await bootTsvmm('bzImage') : undefined;
  const qemuPvh = runBoots && qemu ? await bootQemu() : undefined;
  const rows: Row[] = [
    guestRow('exit cost, port write (µs/exit)', exits?.port_us),
    guestRow('exit cost, MMIO write (µs/exit)', exits?.mmio_us),
    guestRow('virtio queue notify through ioeventfd (µs/write)', exits?.notify_us),
    guestRow('start-up: exec to first KVM_RUN (ms)', startup?.first_kvm_run_ms),
    guestRow('start-up: exec to first serial byte (ms)', startup?.first_serial_byte_ms),
    guestRow('VMM RSS without guest RAM, 1 vCPU 128 MiB (MiB)', memory?.small_mib),
    guestRow('VMM RSS without guest RAM, 2 vCPU 512 MiB (MiB)', memory?.large_mib),
    guestRow('guest touches 256 MiB, one write per page (ms)', touch),
    guestRow(`block sequential read, 128 KiB qd4 (MiB/s; host dd ${value(block?.seq_read_mibs.host)})`, block?.seq_read_mibs),
    guestRow('block sequential write, 128 KiB qd4 (MiB/s)', block?.seq_write_mibs),
    guestRow(`block random read, 4 KiB qd16 (IOPS; host pread ${value(block?.rand_read_iops.host)})`, block?.rand_read_iops),
    guestRow('UDP tunnel, 1514-byte frames received (frames/s)', net?.frames_per_s),
    guestRow('UDP tunnel, received (MiB/s)', net?.mib_per_s),
    guestRow('UDP tunnel, share of 200k frames delivered (%)', net?.delivered_percent),
    guestRow('UDP tunnel, sender (frames/s)', net?.sent_frames_per_s),
    guestRow('serial output, 64 KiB, one exit per byte, to stdout (KiB/s)', serial?.stdout_kib_s),
    guestRow('serial output through the socket console to a client (KiB/s)', serial?.socket_kib_s),
    { benchmark: 'vmm.ping latency p50 / p99 (µs), 10k sequential, keep-alive', tsvmm: latency(api.ping), qemu: 'n/a' },
    { benchmark: 'vm.info vs QMP query-status p50 / p99 (µs)', tsvmm: latency(api.info), qemu: latency(qmp) },
    { benchmark: 'vmm.ping throughput, 16 connections (req/s)', tsvmm: String(api.throughput_rps), qemu: 'n/a' },
    { benchmark: 'kit Linux, vmlinux (PVH): s to marker / to exit', tsvmm: boot(tsvmmPvh), qemu: boot(qemuPvh) },
    { benchmark: 'kit Linux, bzImage: s to marker / to exit', tsvmm: boot(tsvmmBzImage), qemu: 'n/a' },
  ];
  printTable(rows);
  const results = {
    date: new Date().toISOString(),
    node: process.version,
    test_guest: { exits, startup, memory, touch, block, net, serial },
    api: { ...api, qmp_query_status: qmp },
    boot: { tsvmm_vmlinux: tsvmmPvh, tsvmm_bzimage: tsvmmBzImage, qemu_microvm_vmlinux: qemuPvh },
  };
  writeFileSync(values.out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\nwrote ${values.out}\n`);
}

await main();

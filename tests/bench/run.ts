// `npm run bench`: runs the benchmarks, prints a table with tsvmm beside
// QEMU where QEMU is installed, and writes the numbers as JSON
// (bench-results.json, or the path given with --out).
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { kvmAvailable } from '../../src/vm/kvm.js';
import { benchQmp, benchTsvmmApi, qemuAvailable } from './api.js';
import { bootQemu, bootTsvmm, type BootTiming } from './boot.js';
import type { LatencySummary } from './stats.js';

interface Row {
  benchmark: string;
  tsvmm: string;
  qemu: string;
}

const latency = (s: LatencySummary | undefined): string => (s ? `${s.p50_us} / ${s.p99_us}` : 'n/a');
const seconds = (ms: number | null | undefined): string => (ms === null || ms === undefined ? 'n/a' : (ms / 1000).toFixed(1));
const boot = (b: BootTiming | undefined): string => (b ? `${seconds(b.marker_ms)} / ${seconds(b.exit_ms)}` : 'n/a');

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
  if (!kvmAvailable()) process.stderr.write('bench: /dev/kvm is not available; VM benchmarks need it\n');
  if (!qemuAvailable()) process.stderr.write('bench: QEMU is not installed (apt-get install qemu-system-x86): no QEMU column\n');
  const api = await benchTsvmmApi();
  const qmp = await benchQmp();
  // One boot at a time: guest kernel code is CPU-bound here, and two at once would slow both.
  const runBoots = !values['skip-boot'] && kvmAvailable();
  const tsvmmPvh = runBoots ? await bootTsvmm('vmlinux') : undefined;
  const tsvmmBzImage = runBoots ? await bootTsvmm('bzImage') : undefined;
  const qemuPvh = runBoots && qemuAvailable() ? await bootQemu() : undefined;
  const rows: Row[] = [
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
    api: { ...api, qmp_query_status: qmp },
    boot: { tsvmm_vmlinux: tsvmmPvh, tsvmm_bzimage: tsvmmBzImage, qemu_microvm_vmlinux: qemuPvh },
  };
  writeFileSync(values.out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\nwrote ${values.out}\n`);
}

await main();

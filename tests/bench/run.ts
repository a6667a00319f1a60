// `npm run bench`: runs the benchmarks, prints a table with tsvmm beside
// QEMU where QEMU is installed, and writes the numbers as JSON
// (bench-results.json, or the path given with --out).
//
// Without /dev/kvm it runs itself inside the L1 VM (tests/l1/README.md), QEMU
// with -accel kvm beside tsvmm there too: every figure is then one of an
// emulated machine, marked so, and only the tsvmm/QEMU ratios carry over.
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { hostKvm } from '../helpers/host-kvm.js';
import { l1Pinning, prepareL1, runInL1 } from '../l1/vm.js';
import { benchDbusApi, benchQmp, benchTsvmmApi, SEQUENTIAL } from './api.js';
import { bootQemu, bootTsvmm, type BootTiming } from './boot.js';
import { benchDistroBoot } from './distro.js';
import { benchHostStartup, type Versus } from './start-up.js';
import { benchExitDispatch, type DispatchFigures } from './exit-dispatch.js';
import type { GuestVmm } from '../helpers/guest-vmm.js';
import { ensureQemu } from '../helpers/qemu.js';
import { median, type LatencySummary } from './stats.js';
import { benchVsock } from './vsock.js';
import { benchSnapshot } from './snapshot.js';
import { benchMigration, type MigrationFigures } from './migration.js';
import { benchWorldSwitch, type WorldSwitchRun } from './world-switch.js';
import { benchHandOff } from './hand-off.js';
import {
  benchBlock, benchExits, benchImage, benchMemory, benchNet, benchSerial, benchStartup, benchTouch, NET_FRAMES, SERIAL_BYTES, type PerVmm,
} from './test-guest.js';

interface Row {
  benchmark: string;
  tsvmm: string;
  qemu: string;
  /** tsvmm's figure over QEMU's, where both are numbers. */
  ratio: string;
}

const ratio = (ours: number | undefined | null, theirs: number | undefined | null): string =>
  ours !== undefined && ours !== null && theirs ? (ours / theirs).toFixed(2) : 'n/a';

/** Where the figures were measured: they are only comparable within one platform. */
const PLATFORM = process.env.TSVMM_IN_L1 === '1'
  ? 'nested KVM inside the L1 VM under QEMU TCG (emulated: compare ratios, not absolute figures)'
  : 'this host\'s KVM';

const latency = (s: LatencySummary | undefined): string => (s ? `${s.p50_us} / ${s.p99_us}` : 'n/a');
const seconds = (ms: number | null | undefined): string => (ms === null || ms === undefined ? 'n/a' : (ms / 1000).toFixed(1));
const boot = (b: BootTiming | undefined): string => (b ? `${seconds(b.marker_ms)} / ${seconds(b.exit_ms)}` : 'n/a');
const value = (v: number | undefined): string => (v === undefined ? 'n/a' : String(v));
/** tsvmm's figure with its ratio to a baseline that is not QEMU (bare Node). */
const versus = (v: Versus | undefined, baseline: string): string => (v ? `${v.tsvmm} (${(v.tsvmm / v.baseline).toFixed(2)}x ${baseline}: ${v.baseline})` : 'n/a');
/** The TypeScript dispatch's figure beside the C one's. */
const dispatch = (f: DispatchFigures | undefined, key: 'typescript_ns' | 'typescript_with_call_ns'): string =>
  (f ? `${f[key]} (${(f[key] / f.c_ns).toFixed(2)}x C: ${f.c_ns})` : 'n/a');

/** One row from per-VMM figures; the tsvmm column shows the C loop beside it when measured. */
function guestRow(benchmark: string, figures: PerVmm | undefined): Row {
  const tsvmm = value(figures?.tsvmm);
  const cLoop = figures?.['tsvmm-c-loop'];
  const cLoopRatio = cLoop && figures?.tsvmm ? ` (C loop ${cLoop}, ${(figures.tsvmm / cLoop).toFixed(2)}x)` : '';
  return { benchmark, tsvmm: `${tsvmm}${cLoopRatio}`, qemu: value(figures?.qemu), ratio: ratio(figures?.tsvmm, figures?.qemu) };
}

function printTable(rows: Row[]): void {
  const headers: Row = { benchmark: 'benchmark', tsvmm: 'tsvmm', qemu: 'QEMU', ratio: 'tsvmm/QEMU' };
  const widths = (Object.keys(headers) as Array<keyof Row>).map((key) =>
    Math.max(headers[key].length, ...rows.map((row) => row[key].length)));
  const line = (row: Row): string =>
    `| ${(Object.keys(headers) as Array<keyof Row>).map((key, i) => row[key].padEnd(widths[i] ?? 0)).join(' | ')} |`;
  process.stdout.write(`${line(headers)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n`);
  for (const row of rows) process.stdout.write(`${line(row)}\n`);
}

/**
 * Runs one benchmark, saying when it starts and how long it took: a line now
 * and then also tells the L1 harness that L1 is alive.
 */
async function step<T>(name: string, run: () => Promise<T>): Promise<T | undefined> {
  if (only !== undefined && !name.includes(only)) return undefined;
  const started = Date.now();
  process.stdout.write(`bench: ${name}...\n`);
  const result = await run();
  process.stdout.write(`bench: ${name} done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return result;
}

const DISTRO_STEP = 'Debian boot';

/** One figure of each world-switch run, "a / b / c". */
function pagesTouched(runs: WorldSwitchRun[] | undefined, figure: keyof WorldSwitchRun): string {
  return runs ? runs.map((run) => value(run[figure])).join(' / ') : 'n/a';
}

/** The median of each figure; no marker time when a boot had none. */
function medianBoot(boots: BootTiming[] | undefined): BootTiming | undefined {
  if (!boots || boots.length === 0) return undefined;
  const markers = boots.map((b) => b.marker_ms);
  return {
    marker_ms: markers.every((m) => m !== null) ? median(markers as number[]) : null,
    exit_ms: median(boots.map((b) => b.exit_ms)),
  };
}

/** `--only NAME`: only the steps whose name contains NAME (e.g. vsock, API, boot). */
let only: string | undefined;

/** Runs this same bench inside L1 and copies its JSON to `out`; false when L1 cannot be had. */
async function benchInL1(hostWhy: string, out: string, skipBoot: boolean): Promise<boolean> {
  const distroStep = !skipBoot && (only === undefined || DISTRO_STEP.includes(only));
  const why = prepareL1({ distro: distroStep });
  if (why !== null) {
    process.stderr.write(`bench: ${hostWhy} and no L1 VM (${why}): VM benchmarks need one\n`);
    return false;
  }
  process.stderr.write(`bench: ${hostWhy}; running inside the L1 VM (nested KVM under QEMU TCG)\n`);
  const pinning = l1Pinning();
  const run = await runInL1(`exec ${pinning.prefix}node dist/tests/bench/run.js --out "$TSVMM_L1_RESULTS/bench.json"${skipBoot ? ' --skip-boot' : ''}${only !== undefined ? ` --only '${only.replaceAll("'", "'\\''")}'` : ''}`, {
    env: { ...process.env, TSVMM_TEST_HOST_KVM: '1' },
    cpus: pinning.cpus,
    onOutput: (chunk) => process.stdout.write(chunk),
  });
  const json = join(run.resultsDir, 'bench.json');
  if (run.status !== 0 || !existsSync(json)) {
    throw new Error(`the bench inside L1 failed: ${run.l1Failure ?? `status ${run.status}`}; L1's console log: ${run.consoleLogPath}`);
  }
  copyFileSync(json, out);
  process.stdout.write(`wrote ${out}\n`);
  return true;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: 'bench-results.json' }, 'skip-boot': { type: 'boolean', default: false }, only: { type: 'string' },
    },
  });
  only = values.only;
  const host = hostKvm('linux');
  const kvm = host.usable;
  if (!host.usable && process.env.TSVMM_IN_L1 !== '1' && await benchInL1(host.why, values.out, values['skip-boot'])) return;
  const qemu = ensureQemu();
  if (!qemu) process.stderr.write('bench: QEMU is not installed (apt-get install qemu-system-x86): no QEMU column\n');
  const vmms: GuestVmm[] = qemu ? ['tsvmm', 'qemu'] : ['tsvmm'];
  const image = kvm ? benchImage() : undefined;
  const exits = image ? await step('exit costs', () => benchExits(vmms, image)) : undefined;
  const worldSwitch = kvm ? await step('exit costs: pages touched between exits', async () => benchWorldSwitch()) : undefined;
  const handOff = await step('exit costs: an exit handed to another thread', () => benchHandOff());
  const startup = kvm ? await step('start-up', () => benchStartup(vmms)) : undefined;
  const memory = kvm ? await step('memory', () => benchMemory(vmms)) : undefined;
  const touch = kvm ? await step('guest page touches', () => benchTouch(vmms)) : undefined;
  const block = image ? await step('block', () => benchBlock(vmms, image)) : undefined;
  const net = kvm ? await step('UDP tunnel', () => benchNet(vmms)) : undefined;
  const serial = kvm ? await step('serial', () => benchSerial(vmms)) : undefined;
  const hostStartup = await step('start-up without a VM', () => benchHostStartup());
  const exitDispatch = await step('exit dispatch without KVM', async () => benchExitDispatch());
  const api = await step('API', () => benchTsvmmApi());
  const qmp = await step('QMP', () => benchQmp());
  const dbus = await step('D-Bus API', () => benchDbusApi());
  const vsock = kvm ? await step('vsock', () => benchVsock()) : undefined;
  const snapshot = kvm ? await step('snapshot', () => benchSnapshot()) : undefined;
  const migration = kvm ? await step('migration', () => benchMigration()) : undefined;
  // One boot at a time: guest kernel code is CPU-bound here, and two at once would slow both.
  const runBoots = !values['skip-boot'] && kvm;
  const tsvmmPvh = runBoots ? await step('kit Linux boot, tsvmm, vmlinux', () => bootTsvmm('vmlinux')) : undefined;
  const tsvmmBzImage = runBoots ? await step('kit Linux boot, tsvmm, bzImage', () => bootTsvmm('bzImage')) : undefined;
  const qemuPvh = runBoots && qemu ? await step('kit Linux boot, QEMU', () => bootQemu()) : undefined;
  const debian = runBoots ? await step(DISTRO_STEP, () => benchDistroBoot(qemu)) : undefined;
  const [debianTsvmm, debianQemu] = [medianBoot(debian?.tsvmm), medianBoot(debian?.qemu)];
  const rows: Row[] = [
    guestRow('exit cost, port write (µs/exit)', exits?.port_us),
    guestRow('exit cost, MMIO write (µs/exit)', exits?.mmio_us),
    guestRow('virtio queue notify through ioeventfd (µs/write)', exits?.notify_us),
    {
      benchmark: `a C loop reading ${pagesTouched(worldSwitch, 'pages')} pages between exits (µs/exit; the reads alone ${pagesTouched(worldSwitch, 'reads_alone_us')} µs)`,
      tsvmm: pagesTouched(worldSwitch, 'us_per_exit'), qemu: 'n/a', ratio: 'n/a',
    },
    {
      benchmark: 'an exit handed to another thread and answered (µs per round trip; C threads / JavaScript threads)',
      tsvmm: handOff ? `${value(handOff.c_us)} / ${value(handOff.javascript_us)}` : 'n/a', qemu: 'n/a', ratio: 'n/a',
    },
    guestRow('start-up: exec to first KVM_RUN (ms)', startup?.first_kvm_run_ms),
    ...(startup?.steps_ms ?? []).map(({ step, ms }) => ({ benchmark: `  start-up step: ${step} (ms since exec)`, tsvmm: value(ms), qemu: '', ratio: '' })),
    guestRow('start-up: exec to first serial byte (ms)', startup?.first_serial_byte_ms),
    guestRow('VMM RSS without guest RAM, 1 vCPU 128 MiB (MiB)', memory?.small_mib),
    guestRow('VMM RSS without guest RAM, 2 vCPU 512 MiB (MiB)', memory?.large_mib),
    guestRow('guest touches 256 MiB, one write per page (ms)', touch),
    guestRow(`block sequential read, 128 KiB qd4 (MiB/s; host dd ${value(block?.seq_read_mibs.host)})`, block?.seq_read_mibs),
    guestRow('block sequential write, 128 KiB qd4 (MiB/s)', block?.seq_write_mibs),
    guestRow(`block random read, 4 KiB qd16 (IOPS; host pread ${value(block?.rand_read_iops.host)})`, block?.rand_read_iops),
    guestRow('UDP tunnel, 1514-byte frames received (frames/s)', net?.frames_per_s),
    guestRow('UDP tunnel, received (MiB/s)', net?.mib_per_s),
    guestRow(`UDP tunnel, share of ${NET_FRAMES / 1000}k frames delivered (%)`, net?.delivered_percent),
    guestRow('UDP tunnel, sender (frames/s)', net?.sent_frames_per_s),
    guestRow(`serial output, ${SERIAL_BYTES} bytes, one exit per byte, to stdout (KiB/s)`, serial?.stdout_kib_s),
    guestRow('serial output through the socket console to a client (KiB/s)', serial?.socket_kib_s),
    { benchmark: '`tsvmm --version`, CPU time (ms)', tsvmm: versus(hostStartup?.version_cpu_ms, 'node -e 0'), qemu: 'n/a', ratio: 'n/a' },
    { benchmark: '`tsvmm --version`, peak RSS (MiB)', tsvmm: versus(hostStartup?.version_rss_mib, 'node -e 0'), qemu: 'n/a', ratio: 'n/a' },
    { benchmark: 'exec to API socket accepting (ms)', tsvmm: versus(hostStartup?.api_socket_ms, 'bare node:http'), qemu: 'n/a', ratio: 'n/a' },
    { benchmark: 'exit dispatch without KVM, port write: TypeScript vs C (ns/exit)', tsvmm: dispatch(exitDispatch?.port_write, 'typescript_ns'), qemu: 'n/a', ratio: 'n/a' },
    { benchmark: 'exit dispatch without KVM, MMIO write: TypeScript vs C (ns/exit)', tsvmm: dispatch(exitDispatch?.mmio_write, 'typescript_ns'), qemu: 'n/a', ratio: 'n/a' },
    { benchmark: 'the same with the call into the addon per exit, port write (ns/exit)', tsvmm: dispatch(exitDispatch?.port_write, 'typescript_with_call_ns'), qemu: 'n/a', ratio: 'n/a' },
    { benchmark: 'the same with the call into the addon per exit, MMIO write (ns/exit)', tsvmm: dispatch(exitDispatch?.mmio_write, 'typescript_with_call_ns'), qemu: 'n/a', ratio: 'n/a' },
    { benchmark: `vmm.ping latency p50 / p99 (µs), ${SEQUENTIAL / 1000}k sequential, keep-alive`, tsvmm: latency(api?.ping), qemu: 'n/a', ratio: 'n/a' },
    { benchmark: 'vm.info vs QMP query-status p50 / p99 (µs)', tsvmm: latency(api?.info), qemu: latency(qmp), ratio: ratio(api?.info?.p50_us, qmp?.p50_us) },
    { benchmark: `VmmPing over D-Bus p50 / p99 (µs; REST ${latency(api?.ping)})`, tsvmm: latency(dbus?.ping), qemu: 'n/a', ratio: 'n/a' },
    { benchmark: `VmInfo over D-Bus p50 / p99 (µs; REST ${latency(api?.info)})`, tsvmm: latency(dbus?.info), qemu: 'n/a', ratio: 'n/a' },
    { benchmark: 'vmm.ping throughput, 16 connections (req/s)', tsvmm: value(api?.throughput_rps), qemu: 'n/a', ratio: 'n/a' },
    { benchmark: `vsock connect, CONNECT and OK, p50 / p99 (µs; plain UNIX socket ${latency(vsock?.unix_socket.connect)})`, tsvmm: latency(vsock?.tsvmm.connect), qemu: 'n/a', ratio: 'n/a' },
    { benchmark: `vsock echo through the guest, one connection (MiB/s; plain UNIX socket ${value(vsock?.unix_socket.echo_mib_s)})`, tsvmm: value(vsock?.tsvmm.echo_mib_s), qemu: 'n/a', ratio: 'n/a' },
    ...(snapshot?.rows ?? []).flatMap((row) => [
      {
        benchmark: `vm.snapshot vs QEMU stop + migrate to a file, idle ${row.memory_mib} MiB guest (ms; on disk ${value(row.size_on_disk_mib)} / ${value(row.qemu?.size_on_disk_mib)} MiB)`,
        tsvmm: value(row.snapshot_ms), qemu: value(row.qemu?.snapshot_ms), ratio: ratio(row.snapshot_ms, row.qemu?.snapshot_ms),
      },
      {
        benchmark: `vm.restore Copy / OnDemand vs QEMU migrate-incoming from the file, ${row.memory_mib} MiB (ms)`,
        tsvmm: `${value(row.restore_copy_ms)} / ${value(row.restore_ondemand_ms)}`, qemu: value(row.qemu?.restore_ms), ratio: ratio(row.restore_copy_ms, row.qemu?.restore_ms),
      },
    ]),
    ...(['idle', 'dirty'] as const).map((kind) => {
      const figures = migration?.[kind];
      const show = (f: MigrationFigures | undefined): string => (f ? `${value(f.total_ms)} / ${value(f.downtime_ms)}` : 'n/a');
      const guest = kind === 'idle' ? 'idle' : 'writing 64 MiB without pause';
      return {
        benchmark: `live migration, 256 MiB guest ${guest}, UNIX socket: total / downtime (ms${figures ? `; tsvmm ${figures.tsvmm.rounds} rounds, ${value(figures.tsvmm.resume_ms)} ms of the downtime resuming on the destination` : ''})`,
        tsvmm: show(figures?.tsvmm), qemu: show(figures?.qemu), ratio: ratio(figures?.tsvmm.total_ms, figures?.qemu?.total_ms),
      };
    }),
    { benchmark: 'kit Linux, vmlinux (PVH): s to marker / to exit', tsvmm: boot(tsvmmPvh), qemu: boot(qemuPvh), ratio: ratio(tsvmmPvh?.marker_ms, qemuPvh?.marker_ms) },
    { benchmark: 'kit Linux, bzImage: s to marker / to exit', tsvmm: boot(tsvmmBzImage), qemu: 'n/a', ratio: 'n/a' },
    {
      benchmark: `Debian 12 (stock kernel, initrd, systemd, quiet), 1 vCPU 512 MiB: s to multi-user.target marker / to exit after poweroff (median of ${debian?.tsvmm.length ?? 0}; QEMU microvm with ACPI)`,
      tsvmm: boot(debianTsvmm), qemu: boot(debianQemu), ratio: ratio(debianTsvmm?.marker_ms, debianQemu?.marker_ms),
    },
  ];
  process.stdout.write(`measured on: ${PLATFORM}\n\n`);
  printTable(rows);
  const results = {
    date: new Date().toISOString(),
    platform: PLATFORM,
    node: process.version,
    test_guest: { exits, world_switch: worldSwitch, startup, memory, touch, block, net, serial },
    start_up_without_vm: hostStartup,
    exit_dispatch_without_kvm: exitDispatch,
    exit_hand_off: handOff,
    api: { ...api, qmp_query_status: qmp, dbus },
    vsock,
    snapshot,
    migration,
    boot: { tsvmm_vmlinux: tsvmmPvh, tsvmm_bzimage: tsvmmBzImage, qemu_microvm_vmlinux: qemuPvh },
    debian_boot: { runs: debian, tsvmm: debianTsvmm, qemu_microvm_acpi: debianQemu },
  };
  writeFileSync(values.out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\nwrote ${values.out}\n`);
}

await main();

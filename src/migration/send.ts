// The sending side of a live migration (pre-copy): every page with data
// while the guest runs, then rounds of the pages written meanwhile (KVM's
// dirty log and the devices' writes) until the rest fits in the downtime
// the user allows; then the VM is paused, the last pages and the device
// state go, and the destination resumes the guest. Any failure before the
// destination says it runs the VM leaves the VM running here, unless the
// destination took the disks' locks meanwhile (then it may run the guest,
// and this copy stays paused rather than write the same disks).
import { connect, type Socket } from 'node:net';
import type { VmConfig, VmSendMigrationConfig } from '../config/schema.js';
import type { EmitEvent } from '../events/record.js';
import { buildManifest } from '../snapshot/store.js';
import { dataRanges, pageRuns, totalOf, type MemoryRange } from '../snapshot/memory-file.js';
import { MigrationError } from '../util/errors.js';
import type { GuestMemory } from '../vm/memory.js';
import type { Vm } from '../vm/vm.js';
import { FrameReader, FrameType, MAX_MEMORY_RUN, parseJson, writeJson, writeMemory, type Reply } from './channel.js';
import { describeEndpoint, type MigrationEndpoint } from './endpoint.js';
import { hello } from './protocol.js';

const PAGE = 4096;
/** SHA-256 of no bytes: a migration's state frame names no memory ranges (the memory went before). */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export interface MigrationOutcome {
  rounds: number;
  bytes: number;
  totalMs: number;
  /** From the pause to the destination's word that the VM runs. */
  downtimeMs: number;
}

export interface SendContext {
  vm: Vm;
  config: VmConfig;
  /** The VM is running (the migration pauses it for the last round) rather than paused. */
  running: boolean;
  report: EmitEvent;
  /** Aborting ends the migration at once; the VM is left as it was. */
  signal: AbortSignal;
}

/** The migration failed after the destination took the disks: the guest may run there, so it stays paused here. */
export class StrandedMigrationError extends MigrationError {}

function open(endpoint: MigrationEndpoint): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = endpoint.kind === 'unix' ? connect(endpoint.path) : connect(endpoint.port, endpoint.host);
    socket.once('connect', () => { socket.off('error', reject); resolve(socket); });
    socket.once('error', (error) => reject(new MigrationError(`cannot connect to ${describeEndpoint(endpoint)}: ${error.message}`)));
  });
}

function closed(socket: Socket): Promise<void> {
  return socket.closed ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => resolve()));
}

/** The marked pages of `pages` (one byte per page of the mapping) as runs that each lie in one region. */
function dirtyRuns(memory: GuestMemory, pages: Uint8Array): MemoryRange[] {
  return memory.layout.regions.flatMap((region) => {
    const first = region.hostOffset / PAGE;
    return pageRuns(region.hostOffset, pages.subarray(first, first + region.size / PAGE), MAX_MEMORY_RUN);
  });
}

/** Marks in `into` every page `other` marks; returns `into`. */
function union(into: Uint8Array, other: Uint8Array): Uint8Array {
  other.forEach((mark, page) => { if (mark !== 0) into[page] = 1; });
  return into;
}

class Sender {
  private bytes = 0;
  private round = 0;

  constructor(private readonly socket: Socket, private readonly reader: FrameReader, private readonly context: SendContext) {}

  private check(): void {
    if (this.context.signal.aborted) throw new MigrationError(`the migration was cancelled: ${String(this.context.signal.reason)}`);
  }

  /** Sends `ranges` of guest memory, reporting each tenth; returns how long it took. */
  private async sendRanges(ranges: MemoryRange[]): Promise<number> {
    const started = performance.now();
    const total = totalOf(ranges);
    let done = 0;
    let reported = 0;
    for (const [offset, length] of ranges) {
      this.check();
      await writeMemory(this.socket, offset, this.context.vm.memory.mappingBytes(offset, length));
      done += length;
      this.bytes += length;
      const tenth = Math.floor((done * 10) / total);
      if (tenth > reported) {
        reported = tenth;
        this.progress(done, total);
      }
    }
    return performance.now() - started;
  }

  /** `migrating`: the bytes sent in all and expected in all so far, and where this round is. */
  private progress(roundDone: number, roundTotal: number): void {
    this.context.report('vm', 'migrating', {
      bytes_done: String(this.bytes), bytes_total: String(this.bytes - roundDone + roundTotal),
      round: String(this.round), dirty_pages: String(roundTotal / PAGE),
    });
  }

  private async reply(): Promise<void> {
    const reply = parseJson<Reply>(await this.reader.expect(FrameType.Reply), 'destination');
    if (!reply.ok) throw new MigrationError(`the destination failed: ${reply.message}`);
  }

  async run(options: VmSendMigrationConfig): Promise<MigrationOutcome> {
    const { vm, config } = this.context;
    const started = performance.now();
    await writeJson(this.socket, FrameType.Hello, hello(config));
    await this.reply();
    vm.startDirtyLog();
    let paused = false;
    let disksLent = false;
    try {
      let pending = dataRanges(vm.memory, MAX_MEMORY_RUN);
      let dirty: Uint8Array;
      for (;;) {
        const elapsed = await this.sendRanges(pending);
        const bytesPerMs = totalOf(pending) / Math.max(elapsed, 1);
        this.round++;
        dirty = vm.takeDirtyPages();
        pending = dirtyRuns(vm.memory, dirty);
        this.progress(0, totalOf(pending));
        if (totalOf(pending) / bytesPerMs <= options.downtime_ms) break;
        if (performance.now() - started > options.timeout_s * 1000) {
          if (options.timeout_strategy === 'Cancel') throw new MigrationError(`the guest writes memory faster than it can be sent: no round fit in downtime_ms=${options.downtime_ms} within timeout_s=${options.timeout_s}`);
          break;
        }
      }
      if (this.context.running) await vm.pause();
      paused = true;
      const pausedAt = performance.now();
      // The last round's pages were taken but not sent: they go now with those written since.
      const { state } = await vm.snapshot(async (memory) => this.sendRanges(dirtyRuns(memory, union(dirty, vm.takeDirtyPages()))));
      this.check();
      vm.unlockDisks();
      disksLent = true;
      await writeJson(this.socket, FrameType.State, buildManifest(config, state, { file: 'memory', size: config.memory.size, ranges: [], sha256: EMPTY_SHA256 }));
      await this.reply();
      vm.stopDirtyLog();
      return { rounds: this.round + 1, bytes: this.bytes, totalMs: performance.now() - started, downtimeMs: performance.now() - pausedAt };
    } catch (error) {
      vm.stopDirtyLog();
      if (disksLent) takeDisksBack(vm, error);
      if (paused && this.context.running) vm.start();
      throw error;
    }
  }
}

function takeDisksBack(vm: Vm, failure: unknown): void {
  try {
    vm.lockDisks();
  } catch (error) {
    const why = failure instanceof Error ? failure.message : String(failure);
    throw new StrandedMigrationError(`${why}; the destination may run the guest (${(error as Error).message}), so it stays paused here`);
  }
}

/**
 * Migrates the VM to the tsvmm listening at `endpoint`. Resolves once the
 * destination runs it (this VM is then paused, for the caller to end);
 * rejects with the VM as it was, running or paused.
 */
export async function sendMigration(endpoint: MigrationEndpoint, options: VmSendMigrationConfig, context: SendContext): Promise<MigrationOutcome> {
  const socket = await open(endpoint);
  const abort = (): void => { socket.destroy(); };
  context.signal.addEventListener('abort', abort);
  try {
    return await new Sender(socket, new FrameReader(socket, 'destination'), context).run(options);
  } finally {
    context.signal.removeEventListener('abort', abort);
    socket.destroy();
    // Until the socket is closed, its queued writes may still point into guest memory.
    await closed(socket);
  }
}


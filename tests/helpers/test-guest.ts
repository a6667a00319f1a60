// Runs the CPL3 test guest under tsvmm and reads what it reported: its
// "TG key=value" lines, merged into one record, and its result.
import { buildTestGuest } from '../../guest/test-guest.js';
import { boundUdpSocket } from './net.js';
import { runTsvmm, type RunOptions, type TsvmmResult } from './tsvmm.js';

export interface TestGuestResult extends TsvmmResult {
  /** "ok" or "fail", from the guest's last line. */
  result: string | undefined;
  /** Every key=value the guest printed on a "TG" line. */
  values: Record<string, string>;
}

/** The hostile drivers the guest knows (guest/test-guest/tests.c). */
export const HOSTILE_CASES = ['desc-outside-ram', 'desc-wraps', 'loop', 'next-beyond-queue', 'readable-after-writable',
  'head-beyond-queue', 'avail-index-jump', 'indirect-loop', 'huge-indirect'] as const;

/** The guest's blk-verify pattern: each 8-byte word is its disk offset XOR seed times the golden ratio. */
export function blockPattern(bytes: number, seed: bigint): Buffer {
  const out = Buffer.alloc(bytes);
  const key = (seed * 0x9e3779b97f4a7c15n) & 0xffff_ffff_ffff_ffffn;
  for (let offset = 0; offset < bytes; offset += 8) out.writeBigUInt64LE(BigInt(offset) ^ key, offset);
  return out;
}

/** Sector `index` of the guest's `records` test in `round` (guest/test-guest/tests.c, records()). */
export function testGuestRecord(round: number, index: number): Buffer {
  const sector = Buffer.alloc(512);
  for (let word = 0; word < 64; word++) {
    const value = BigInt(index) ^ (BigInt(round) << 32n) ^ ((BigInt(word) * 0x9e3779b97f4a7c15n) & 0xffff_ffff_ffff_ffffn);
    sector.writeBigUInt64LE(value, 8 * word);
  }
  sector.write('TGRECD01', 0, 'latin1');
  sector.writeBigUInt64LE(BigInt(round), 8);
  sector.writeBigUInt64LE(BigInt(index), 16);
  return sector;
}

/**
 * How long one test-guest VM may run on hardware KVM (scaled in L1): each
 * takes under a second there and seconds in L1, so a guest that stopped is
 * found in minutes, not at the file's timeout.
 */
export const TEST_GUEST_TIMEOUT_MS = 30_000;

let elf: string | undefined;

export function testGuest(): string {
  elf ??= buildTestGuest();
  return elf;
}

export function parseReport(stdout: string): Pick<TestGuestResult, 'result' | 'values'> {
  const values: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('TG ')) continue;
    for (const [, key, value] of line.matchAll(/(\w+)=(\S+)/g)) values[key as string] = value as string;
  }
  return { result: values.result, values };
}

/**
 * The guest reads no ACPI tables: `acpi=off` makes tsvmm name the virtio
 * devices on its command line, where the guest (and QEMU's microvm) looks.
 */
export function testGuestCmdline(test: string): string {
  return `acpi=off ${test}`;
}

/** Boots the test guest with `cmdline` (its test and parameters) and the extra tsvmm arguments. */
export async function runTestGuest(cmdline: string, args: string[] = [], options: RunOptions = {}): Promise<TestGuestResult> {
  const run = await runTsvmm(['--kernel', testGuest(), '--cmdline', testGuestCmdline(cmdline), '--memory', 'size=128M', ...args],
    { timeoutMs: TEST_GUEST_TIMEOUT_MS, ...options });
  return { ...run, ...parseReport(run.stdout) };
}

/** What a host socket heard from the guest's `net-send` (guest/test-guest/tests.c, fill_frame()). */
export interface UdpFrameCounter {
  port: number;
  /** How many data frames arrived. */
  frames: number;
  /** The sequence numbers of the data frames from each HOST:PORT, in arrival order. */
  sequences: Map<string, number[]>;
  /** Data frames whose payload is not the guest's pattern. */
  corrupt: number;
  /** An end-of-stream frame arrived. */
  ended: boolean;
  close(): void;
}

const ETHERTYPE_DATA = 0x88b5;
const ETHERTYPE_END = 0x88b6;

/** A UDP socket on 127.0.0.1 that takes a test guest's frames (one Ethernet frame per datagram) and checks each. */
export async function udpFrameCounter(): Promise<UdpFrameCounter> {
  const socket = await boundUdpSocket();
  const counter: UdpFrameCounter = {
    port: socket.address().port, frames: 0, sequences: new Map(), corrupt: 0, ended: false, close: () => socket.close(),
  };
  socket.on('message', (frame, from) => {
    const ethertype = frame.length >= 18 ? frame.readUInt16BE(12) : -1;
    if (ethertype === ETHERTYPE_END) counter.ended = true;
    if (ethertype !== ETHERTYPE_DATA) return;
    const sequence = frame.readUInt32LE(14);
    const sender = `${from.address}:${from.port}`;
    const list = counter.sequences.get(sender) ?? [];
    if (list.length === 0) counter.sequences.set(sender, list);
    list.push(sequence);
    counter.frames++;
    for (let i = 18; i < frame.length; i++) {
      if (frame[i] !== ((sequence * 7 + i) & 0xff)) {
        counter.corrupt++;
        break;
      }
    }
  });
  return counter;
}

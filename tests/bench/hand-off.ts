// What handing each exit to another thread and waiting for the answer costs:
// tests/bench/hand-off.c (two C threads, futexes) and the same between this
// thread and a worker through Atomics.wait/notify (futexes too, with V8
// between). It puts a figure on the vCPU shape README "Performance" weighs:
// vCPUs as threads of the addon that hand every exit to one JavaScript thread.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isMainThread, Worker, workerData } from 'node:worker_threads';
import { buildCProgram } from '../../guest/c-program.js';
import { median, WORK_DIVISOR } from './stats.js';

const SOURCE = fileURLToPath(new URL('../../../tests/bench/hand-off.c', import.meta.url));
const FLAGS = ['-O2', '-std=gnu11', '-pthread', '-Wall', '-Wextra', '-Werror'];
const ROUND_TRIPS = 20_000 / WORK_DIVISOR;
const ROUNDS = 5;

/** What the answering worker gets: in `words`, word 0 says an exit is posted, word 1 that it is answered. */
interface PeerData { words: Int32Array; count: number }

function waitFor(words: Int32Array, index: number): void {
  while (Atomics.load(words, index) === 0) Atomics.wait(words, index, 0);
  Atomics.store(words, index, 0);
}

function post(words: Int32Array, index: number): void {
  Atomics.store(words, index, 1);
  Atomics.notify(words, index, 1);
}

export interface HandOff { c_us: number; javascript_us: number }

async function javascriptRoundTripUs(): Promise<number> {
  const words = new Int32Array(new SharedArrayBuffer(8));
  const peer: PeerData = { words, count: ROUND_TRIPS * ROUNDS };
  const worker = new Worker(new URL(import.meta.url), { workerData: peer });
  await new Promise((resolve) => worker.once('online', resolve));
  const samples: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < ROUND_TRIPS; i++) {
      post(words, 0);
      waitFor(words, 1);
    }
    samples.push(Number(process.hrtime.bigint() - start) / 1000 / ROUND_TRIPS);
  }
  await new Promise((resolve) => worker.once('exit', resolve));
  return Math.round(median(samples) * 100) / 100;
}

function cRoundTripUs(): number {
  const result = spawnSync(buildCProgram('hand-off', SOURCE, FLAGS), [String(ROUND_TRIPS), String(ROUNDS)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`hand-off failed: ${result.stderr}`);
  const rounds = (JSON.parse(result.stdout) as { us_per_round_trip: number[] }).us_per_round_trip;
  return Math.round(median(rounds) * 100) / 100;
}

/** µs per exit handed to another thread and answered: C threads, and this thread with a worker. */
export async function benchHandOff(): Promise<HandOff> {
  return { c_us: cRoundTripUs(), javascript_us: await javascriptRoundTripUs() };
}

// The worker's side: answers every posted exit.
if (!isMainThread && (workerData as Partial<PeerData> | null)?.words instanceof Int32Array) {
  const { words, count } = workerData as PeerData;
  for (let i = 0; i < count; i++) {
    waitFor(words, 0);
    post(words, 1);
  }
}

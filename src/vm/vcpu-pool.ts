// vCPU worker threads started before a VM needs them. Starting a worker (a
// new V8 isolate that loads the run loop) is most of the time a VM takes to
// build, so the VMM starts them as soon as it knows one is coming: as a boot
// starts (before the devices, memory and payload), at a restore's start, when
// a migration's first frame names its vCPU count, before a guest reset tears
// the old VM down. A worker waits
// for its VcpuInit as its first message (src/vm/vcpu-worker.ts).
import { Worker } from 'node:worker_threads';
import type { VcpuInit } from './vcpu-control.js';

const WORKER_URL = new URL('./vcpu-worker.js', import.meta.url);

/** Workers that have started (or are starting) and wait for a vCPU. */
const standby = new Set<Worker>();

function startWorker(): Worker {
  const worker = new Worker(WORKER_URL);
  // A worker that dies before it is taken is only dropped: the VM that takes its place starts a new one.
  const drop = (): void => { standby.delete(worker); };
  worker.once('error', drop);
  worker.once('exit', drop);
  return worker;
}

/** Starts workers until `count` wait; they do not keep the process alive. */
export function warmVcpuWorkers(count: number): void {
  while (standby.size < count) {
    const worker = startWorker();
    worker.unref();
    standby.add(worker);
  }
}

/** A started worker (a new one if none waits), handed its vCPU. */
export function takeVcpuWorker(init: VcpuInit): Worker {
  const [waiting] = standby;
  const worker = waiting ?? startWorker();
  standby.delete(worker);
  worker.removeAllListeners('error');
  worker.removeAllListeners('exit');
  worker.ref();
  worker.postMessage(init);
  return worker;
}

/** Ends the workers no VM took (the VM they were started for is not coming). */
export async function coolVcpuWorkers(): Promise<void> {
  const workers = [...standby];
  standby.clear();
  await Promise.all(workers.map((worker) => worker.terminate()));
}

/** How many workers wait (for tests). */
export function standbyVcpuWorkers(): number {
  return standby.size;
}

// vCPU worker threads started before a VM needs them. Starting a worker (a
// new V8 isolate that loads the run loop) is most of the time a VM takes to
// build, so the VMM starts them as soon as it knows one is coming: as a boot
// starts (before the devices, memory and payload), at a restore's start, when
// a migration's first frame names its vCPU count, before a guest reset tears
// the old VM down. A worker says when its modules are loaded, then waits
// for its VcpuInit as its first message (src/vm/vcpu-worker.ts).
import { Worker } from 'node:worker_threads';
import type { VcpuInit, VcpuMessage } from './vcpu-control.js';

const WORKER_URL = new URL('./vcpu-worker.js', import.meta.url);

/**
 * Workers that have started (or are starting) and wait for a vCPU, each with
 * a promise that settles once it has loaded (or ended): a worker terminated
 * while it still reads its modules leaves that file's descriptor open.
 */
const standby = new Map<Worker, Promise<void>>();

function startWorker(): { worker: Worker; loaded: Promise<void> } {
  const worker = new Worker(WORKER_URL);
  // A worker that dies before it is taken is only dropped: the VM that takes its place starts a new one.
  const loaded = new Promise<void>((resolve) => {
    worker.once('message', (message: VcpuMessage) => { if (message.type === 'loaded') resolve(); });
    worker.once('error', () => { standby.delete(worker); resolve(); });
    worker.once('exit', () => { standby.delete(worker); resolve(); });
  });
  return { worker, loaded };
}

/** Starts workers until `count` wait; they do not keep the process alive. */
export function warmVcpuWorkers(count: number): void {
  while (standby.size < count) {
    const { worker, loaded } = startWorker();
    worker.unref();
    standby.set(worker, loaded);
  }
}

/** A started worker (a new one if none waits), handed its vCPU. */
export function takeVcpuWorker(init: VcpuInit): Worker {
  const [waiting] = standby.keys();
  const worker = waiting ?? startWorker().worker;
  standby.delete(worker);
  worker.removeAllListeners('message');
  worker.removeAllListeners('error');
  worker.removeAllListeners('exit');
  worker.ref();
  worker.postMessage(init);
  return worker;
}

/** Ends the workers no VM took (the VM they were started for is not coming), each once it has loaded. */
export async function coolVcpuWorkers(): Promise<void> {
  const workers = [...standby];
  standby.clear();
  await Promise.all(workers.map(async ([worker, loaded]) => {
    worker.ref(); // the wait for its load is this process's work now
    await loaded;
    await worker.terminate();
  }));
}

/** How many workers wait (for tests). */
export function standbyVcpuWorkers(): number {
  return standby.size;
}

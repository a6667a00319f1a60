// Starts the control loop's worker thread. bin/tsvmm.ts calls this before it
// loads the VMM's own modules, so the worker loads its modules (the larger
// half of the VMM) on another core meanwhile; it then waits for its
// VmmWorkerData as its first message (src/vmm/handle.ts sends it).
import { Worker } from 'node:worker_threads';

export function startControlLoopWorker(): Worker {
  return new Worker(new URL('./control-loop.js', import.meta.url));
}

// Polling waits for tests that follow a guest's output or an event stream.

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * How much slower than hardware KVM this platform runs: inside the L1 VM
 * (nested KVM under QEMU's TCG) everything, Node included, is emulated, so
 * tests/run.ts sets TSVMM_TEST_TIME_SCALE there. Deadlines are multiplied by
 * it; what a test checks is not.
 */
export const TIME_SCALE = Math.max(1, Number(process.env.TSVMM_TEST_TIME_SCALE ?? 1) || 1);

/** A deadline of `ms` on hardware KVM, stretched to this platform's speed. */
export function scaled(ms: number): number {
  return ms * TIME_SCALE;
}

/** Resolves once `predicate` holds; throws after `ms` (scaled), with `context()` (an output tail) in the message. */
export async function waitUntil(predicate: () => boolean, what: string, ms: number, context: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + scaled(ms);
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${context() ? `; got ${context()}` : ''}`);
    await sleep(Math.min(200, Math.max(10, ms / 1000)));
  }
}

/** Notes in the TAP output how long after this call each step was reached (where a slow file spends its time). */
export function phaseClock(comment: (message: string) => void): (what: string) => void {
  const started = Date.now();
  return (what) => comment(`${what} after ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

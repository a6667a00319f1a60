// Polling waits for tests that follow a guest's output or an event stream.

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `predicate` holds; throws after `ms`, with `context()` (an output tail) in the message. */
export async function waitUntil(predicate: () => boolean, what: string, ms: number, context: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${context() ? `; got ${context()}` : ''}`);
    await sleep(Math.min(200, Math.max(10, ms / 1000)));
  }
}

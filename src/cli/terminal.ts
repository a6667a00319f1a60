// The host terminal in `--serial tty` mode: raw input forwarded to the
// guest, and the terminal's mode restored on every way out of the process.

const RETRY_MS = 10;

export interface SerialInput {
  close(): void;
}

/** Gives bytes to the guest's serial port; resolves with how many it took. */
export type SerialSink = (bytes: Uint8Array) => Promise<number>;

/** Feeds stdin to the VM's serial port, holding back what the port cannot take yet. */
export function forwardStdin(send: SerialSink): SerialInput {
  const stdin = process.stdin;
  const raw = stdin.isTTY === true;
  const restore = (): void => {
    if (raw) stdin.setRawMode(false);
  };
  if (raw) stdin.setRawMode(true);
  process.once('exit', restore);

  let backlog = new Uint8Array(0);
  let busy = false;
  let timer: NodeJS.Timeout | undefined;
  const flush = async (): Promise<void> => {
    timer = undefined;
    busy = true;
    const taken = await send(backlog).catch(() => backlog.length);
    busy = false;
    backlog = backlog.subarray(taken);
    if (backlog.length > 0) {
      stdin.pause();
      timer = setTimeout(() => void flush(), RETRY_MS);
    } else {
      stdin.resume();
    }
  };
  const onData = (chunk: Buffer): void => {
    const merged = new Uint8Array(backlog.length + chunk.length);
    merged.set(backlog);
    merged.set(chunk, backlog.length);
    backlog = merged;
    if (!timer && !busy) void flush();
  };
  stdin.on('data', onData);
  stdin.on('error', () => {});
  return {
    close(): void {
      if (timer) clearTimeout(timer);
      stdin.off('data', onData);
      stdin.pause();
      restore();
      process.off('exit', restore);
    },
  };
}

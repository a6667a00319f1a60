// The host terminal in `--serial tty` mode: raw input forwarded to the
// guest, and the terminal's mode restored on every way out of the process.
import type { Vm } from '../vm/vm.js';

const RETRY_MS = 10;

export interface SerialInput {
  close(): void;
}

/** Feeds stdin to the VM's serial port, holding back what the port cannot take yet. */
export function forwardStdin(vm: Vm): SerialInput {
  const stdin = process.stdin;
  const raw = stdin.isTTY === true;
  const restore = (): void => {
    if (raw) stdin.setRawMode(false);
  };
  if (raw) stdin.setRawMode(true);
  process.once('exit', restore);

  let backlog = new Uint8Array(0);
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    timer = undefined;
    const taken = vm.sendSerialInput(backlog);
    backlog = backlog.subarray(taken);
    if (backlog.length > 0) {
      stdin.pause();
      timer = setTimeout(flush, RETRY_MS);
    } else {
      stdin.resume();
    }
  };
  const onData = (chunk: Buffer): void => {
    const merged = new Uint8Array(backlog.length + chunk.length);
    merged.set(backlog);
    merged.set(chunk, backlog.length);
    backlog = merged;
    if (!timer) flush();
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

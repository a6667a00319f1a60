// The host terminal in tty console mode: raw input forwarded to the guest,
// and the terminal's mode restored on every way out of the process.
import { InputPump, type InputSink } from '../console/input-pump.js';

export interface TerminalInput {
  close(): void;
}

/** Feeds stdin to the VM's tty console, holding back what the device cannot take yet. */
export function forwardStdin(send: InputSink): TerminalInput {
  const stdin = process.stdin;
  const raw = stdin.isTTY === true;
  const restore = (): void => {
    if (raw) stdin.setRawMode(false);
  };
  if (raw) stdin.setRawMode(true);
  process.once('exit', restore);
  const pump = new InputPump(send, { pause: () => stdin.pause(), resume: () => stdin.resume() });
  const onData = (chunk: Buffer): void => pump.push(chunk);
  stdin.on('data', onData);
  stdin.on('error', () => {});
  return {
    close(): void {
      pump.close();
      stdin.off('data', onData);
      stdin.pause();
      restore();
      process.off('exit', restore);
    },
  };
}

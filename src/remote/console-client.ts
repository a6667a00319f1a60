// `tsvmm-remote console`: attaches to a socket or tcp console. Output goes
// to stdout; stdin goes to the guest (raw on a terminal, where Ctrl-]
// detaches). For scripts, --send types text on attach and --until waits
// for text in the output.
import { connect, type Socket } from 'node:net';
import type { ConsoleConfig } from '../api/client.js';
import { ConfigError } from '../util/errors.js';
import { parseTcpConsole } from '../config/rules.js';

const DETACH_KEY = 0x1d; // Ctrl-]

export interface ConsoleOptions {
  send?: string;
  until?: string;
  timeoutSeconds?: number;
}

/** Where a console in `config` can be reached, or why it cannot. */
export function consoleAddress(config: ConsoleConfig): { path: string } | { host: string; port: number } {
  if (config.mode === 'Socket' && config.socket) return { path: config.socket };
  if (config.mode === 'Tcp' && config.tcp) {
    const { host, port } = parseTcpConsole('tcp', config.tcp);
    return { host, port };
  }
  const hint = config.mode === 'Pty' && config.file ? `; open ${config.file} with screen or minicom` : '';
  throw new ConfigError(`the console is in ${config.mode} mode; attaching needs Socket or Tcp mode${hint}`);
}

function connected(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
}

/** Resolves with the exit status: 0 when detached or matched, 1 when --until did not match. */
export async function attachConsole(address: { path: string } | { host: string; port: number }, options: ConsoleOptions): Promise<number> {
  const socket = 'path' in address ? connect(address.path) : connect(address.port, address.host);
  await connected(socket);
  const stdin = process.stdin;
  const raw = stdin.isTTY === true;
  let seen = '';
  return new Promise<number>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = (code: number): void => {
      if (timer) clearTimeout(timer);
      if (raw) stdin.setRawMode(false);
      stdin.pause();
      socket.destroy();
      resolve(code);
    };
    if (options.timeoutSeconds !== undefined) timer = setTimeout(() => finish(1), options.timeoutSeconds * 1000);
    socket.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      if (options.until === undefined) return;
      // Keep only as much as a match could straddle.
      seen = (seen + chunk.toString('latin1')).slice(-(options.until.length + chunk.length));
      if (seen.includes(options.until)) finish(0);
    });
    socket.on('close', () => finish(options.until === undefined ? 0 : 1));
    socket.on('error', () => {});
    if (options.send !== undefined) socket.write(options.send);
    if (raw) stdin.setRawMode(true);
    stdin.on('data', (chunk: Buffer) => {
      if (raw && chunk.includes(DETACH_KEY)) finish(0);
      else socket.write(chunk);
    });
    stdin.on('end', () => {
      if (options.until === undefined) finish(0);
    });
    stdin.resume();
  });
}

// A client of a Socket or Tcp console, as a test drives it: what arrived so
// far, typing, and waiting for text.
import { connect, type Socket } from 'node:net';
import type { ConsoleConfig } from '../../src/api/client.js';
import { parseTcpConsole } from '../../src/config/rules.js';
import { waitUntil } from './wait.js';

export interface ConsoleClient {
  text(): string;
  send(text: string): void;
  waitFor(needle: string): Promise<void>;
  close(): Promise<void>;
}

export function waitFor(read: () => string, needle: string): Promise<void> {
  return waitUntil(() => read().includes(needle), JSON.stringify(needle), 20_000, () => JSON.stringify(read()));
}

/** Until the console's output matches `pattern`; fails after `ms` (scaled) with the output's tail. */
export function waitForMatch(console: ConsoleClient, pattern: RegExp, what: string, ms = 120_000): Promise<void> {
  return waitUntil(() => pattern.test(console.text()), what, ms, () => console.text().slice(-400));
}

export async function attachStream(config: ConsoleConfig): Promise<ConsoleClient> {
  const socket: Socket = config.mode === 'Socket'
    ? connect(config.socket ?? '')
    : connect(parseTcpConsole('tcp', config.tcp ?? '').port, '127.0.0.1');
  let text = '';
  socket.on('data', (chunk: Buffer) => { text += chunk.toString('latin1'); });
  await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  const closed = new Promise((resolve) => socket.once('close', resolve));
  return {
    text: () => text,
    send: (data) => socket.write(data),
    waitFor: (needle) => waitFor(() => text, needle),
    close: async () => { socket.end(); await closed; },
  };
}


// The host side of hybrid vsock, as Cloud Hypervisor and Firecracker have it:
// tsvmm listens on the UNIX socket PATH; a host program connects there and
// writes "CONNECT <port>\n" to reach the guest's listener on that port, and
// reads "OK <host port>\n" once the guest accepted. A guest connection to the
// host (CID 2) on port P goes to the UNIX socket "PATH_P", where a host
// program listens.
import { createConnection, createServer, type Socket } from 'node:net';
import type { HostStream } from './connection.js';
import { log } from '../../util/log.js';

/** Longer than any "CONNECT <u32>\n" with some blanks; a line past this is refused. */
const MAX_COMMAND = 64;

export type ConnectCommand = { port: number; rest: Uint8Array } | 'incomplete' | 'invalid';

/** Reads the command a host program writes first; `rest` is stream data that came with it. */
export function parseConnectCommand(bytes: Uint8Array): ConnectCommand {
  const newline = bytes.indexOf(0x0a);
  if (newline < 0) return bytes.length >= MAX_COMMAND ? 'invalid' : 'incomplete';
  const line = Buffer.from(bytes.subarray(0, newline)).toString('latin1');
  const match = /^connect\s+(\d{1,10})\s*$/i.exec(line);
  const port = match ? Number(match[1]) : NaN;
  if (!(port <= 0xffffffff)) return 'invalid';
  return { port, rest: bytes.subarray(newline + 1) };
}

export function okLine(localPort: number): Uint8Array {
  return Buffer.from(`OK ${localPort}\n`);
}

/** A host program's connection to PATH that sent its CONNECT. */
export interface HostConnectRequest {
  socket: Socket;
  port: number;
  /** Bytes written after the command, for the guest. */
  rest: Uint8Array;
}

export interface HostListener {
  /** Stops listening (the socket file goes) and closes every connection it accepted. */
  close(): Promise<void>;
}

/** Listens on `path` (refused when something is there already, as in Cloud Hypervisor) and reads each client's CONNECT. */
export async function listenForHost(path: string, onRequest: (request: HostConnectRequest) => void): Promise<HostListener> {
  const accepted = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: false }, (socket) => {
    accepted.add(socket);
    socket.once('close', () => accepted.delete(socket));
    readCommand(socket, onRequest);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      // Later errors (an accept that fails for want of descriptors) cost a client, never tsvmm.
      server.on('error', (error) => log.warn(`vsock ${path}: ${error.message}`));
      resolve();
    });
  });
  // server.close() alone would wait for every client, and a client may never leave.
  return {
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of accepted) socket.destroy();
    }),
  };
}

function readCommand(socket: Socket, onRequest: (request: HostConnectRequest) => void): void {
  let buffered = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    buffered = Buffer.concat([buffered, chunk]);
    const command = parseConnectCommand(buffered);
    if (command === 'incomplete') return;
    socket.off('data', onData);
    socket.pause();
    if (command === 'invalid') socket.destroy();
    else onRequest({ socket, port: command.port, rest: command.rest });
  };
  socket.on('data', onData);
  socket.on('error', () => socket.destroy());
}

/** Connects to the host program listening on `PATH_port`. */
export function connectToHost(path: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path: `${path}_${port}`, allowHalfOpen: true });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.pause();
      resolve(socket);
    });
  });
}

/** A connected UNIX socket as a connection's host end; its events go to `events`. */
export function socketStream(socket: Socket, events: { data(bytes: Uint8Array): void; end(): void; failed(): void }): HostStream {
  let ended = false;
  socket.on('data', (chunk: Buffer) => events.data(chunk));
  socket.on('end', () => {
    ended = true;
    events.end();
  });
  socket.on('error', () => events.failed());
  // After the host's end of stream, the guest closes its side in its own time.
  socket.on('close', () => {
    if (!ended) events.failed();
  });
  return {
    accepted: (localPort) => socket.write(okLine(localPort)),
    write: (bytes, done) => {
      socket.write(bytes, (error) => {
        if (!error) done();
      });
    },
    endWrite: () => socket.end(),
    pauseRead: () => socket.pause(),
    resumeRead: () => socket.resume(),
    close: () => {
      socket.removeAllListeners('close');
      socket.end(() => socket.destroy());
    },
    destroy: () => {
      socket.removeAllListeners('close');
      socket.destroy();
    },
  };
}

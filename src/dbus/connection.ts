// One connection to a D-Bus message bus: @homebridge/dbus-native does the
// authentication and the wire format; this file types it and adds what both
// sides need (calls with replies, replies, errors, signals). Method dispatch
// is tsvmm's own (src/dbus/service.ts), so every message a client sends is
// checked here before anything acts on it.
import { createRequire } from 'node:module';
import { createConnection as connectSocket } from 'node:net';
import { errorMessage } from '../util/errors.js';

export const MESSAGE_TYPE = { methodCall: 1, methodReturn: 2, error: 3, signal: 4 } as const;
const NO_REPLY_EXPECTED = 1;

export interface DbusMessage {
  type: number;
  serial?: number;
  path?: string;
  interface?: string;
  member?: string;
  errorName?: string;
  replySerial?: number;
  destination?: string;
  sender?: string;
  signature?: string;
  body?: unknown[];
  flags?: number;
}

/** An error reply to a call this side made. */
export class DbusCallError extends Error {
  constructor(readonly errorName: string, message: string) {
    super(`${errorName}: ${message}`);
  }
}

interface NativeConnection {
  message(message: DbusMessage): void;
  end(): void;
  on(event: 'message', listener: (message: DbusMessage) => void): void;
  on(event: 'connect' | 'end', listener: () => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  once(event: 'connect', listener: () => void): void;
  stream: NodeJS.WritableStream & { destroy(): void; once(event: 'close', listener: () => void): void };
}

interface DbusNative {
  createConnection(options: { stream: NodeJS.ReadWriteStream }): NativeConnection;
}

// A CommonJS package without types for the part used here.
const dbusNative = createRequire(import.meta.url)('@homebridge/dbus-native') as DbusNative;

type Pending = { resolve: (body: unknown[]) => void; reject: (error: Error) => void };

export class DbusConnection {
  private nextSerial = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;
  private readonly closeListeners: Array<(error?: Error) => void> = [];
  /** Handlers for messages other than replies to this side's calls (method calls, signals). */
  private readonly listeners: Array<(message: DbusMessage) => void> = [];
  /** The bus's name for this connection (":1.42"). */
  uniqueName = '';

  private constructor(private readonly native: NativeConnection) {
    native.on('message', (message) => this.dispatch(message));
    native.on('error', (error) => this.shut(error));
    native.on('end', () => this.shut());
  }

  /** Connects, authenticates and says Hello; rejects when the bus cannot be reached or refuses. */
  static async open(socketPath: string): Promise<DbusConnection> {
    const socket = connectSocket(socketPath);
    const native = dbusNative.createConnection({ stream: socket });
    const connection = new DbusConnection(native);
    await new Promise<void>((resolve, reject) => {
      native.once('connect', () => resolve());
      connection.onClose((error) => reject(new Error(`cannot connect to the bus at ${printable(socketPath)}: ${error ? errorMessage(error) : 'closed'}`)));
    });
    const [name] = await connection.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'Hello' });
    connection.uniqueName = String(name);
    return connection;
  }

  /** Method calls and signals reach `listener` (replies settle this side's calls); returns what removes it. */
  onMessage(listener: (message: DbusMessage) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const at = this.listeners.indexOf(listener);
      if (at >= 0) this.listeners.splice(at, 1);
    };
  }

  private dispatch(message: DbusMessage): void {
    if (message.type === MESSAGE_TYPE.methodReturn || message.type === MESSAGE_TYPE.error) this.settle(message);
    else for (const listener of this.listeners) listener(message);
  }

  private settle(reply: DbusMessage): void {
    const pending = reply.replySerial === undefined ? undefined : this.pending.get(reply.replySerial);
    if (!pending || reply.replySerial === undefined) return;
    this.pending.delete(reply.replySerial);
    if (reply.type === MESSAGE_TYPE.methodReturn) pending.resolve(reply.body ?? []);
    else pending.reject(new DbusCallError(reply.errorName ?? 'org.freedesktop.DBus.Error.Failed', typeof reply.body?.[0] === 'string' ? reply.body[0] : ''));
  }

  onClose(listener: (error?: Error) => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private shut(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    const gone = new Error(`the bus connection closed${error ? `: ${errorMessage(error)}` : ''}`);
    for (const pending of this.pending.values()) pending.reject(gone);
    this.pending.clear();
    for (const listener of this.closeListeners) listener(error);
  }

  private send(message: DbusMessage): number {
    const serial = this.nextSerial++;
    if (!this.closed) this.native.message({ ...message, serial });
    return serial;
  }

  /** A method call; resolves with the reply's arguments, rejects with DbusCallError. */
  call(message: Omit<DbusMessage, 'type'>): Promise<unknown[]> {
    if (this.closed) return Promise.reject(new Error('the bus connection is closed'));
    return new Promise((resolve, reject) => {
      const serial = this.send({ ...message, type: MESSAGE_TYPE.methodCall });
      this.pending.set(serial, { resolve, reject });
    });
  }

  /** Whether the caller wants an answer (a call flagged NO_REPLY_EXPECTED does not). */
  static wantsReply(call: DbusMessage): boolean {
    return ((call.flags ?? 0) & NO_REPLY_EXPECTED) === 0;
  }

  reply(call: DbusMessage, signature = '', body: unknown[] = []): void {
    if (!DbusConnection.wantsReply(call) || call.serial === undefined) return;
    this.send({ type: MESSAGE_TYPE.methodReturn, replySerial: call.serial, destination: call.sender, ...(signature ? { signature, body } : {}) });
  }

  replyError(call: DbusMessage, errorName: string, text: string): void {
    if (!DbusConnection.wantsReply(call) || call.serial === undefined) return;
    this.send({ type: MESSAGE_TYPE.error, replySerial: call.serial, destination: call.sender, errorName, signature: 's', body: [text] });
  }

  signal(path: string, iface: string, member: string, signature: string, body: unknown[]): void {
    this.send({ type: MESSAGE_TYPE.signal, path, interface: iface, member, signature, body });
  }

  /** Ends the connection once what was written is flushed. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.native.stream.once('close', () => resolve());
      this.native.end();
    });
  }
}

function printable(path: string): string {
  return path.startsWith('\0') ? `unix:abstract=${path.slice(1)}` : path;
}

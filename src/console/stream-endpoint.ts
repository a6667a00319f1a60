// `socket=PATH` and `tcp=HOST:PORT` consoles: a listening socket that one
// client at a time attaches to (with `tsvmm-remote console`, `nc`, `telnet`
// or `socat`). A client that attaches first gets the ring's recent output;
// the next one is told the console is busy and disconnected. Detaching is
// closing the connection; the guest never notices.
import { chmodSync, existsSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { ConfigError, errorMessage } from '../util/errors.js';
import { log } from '../util/log.js';
import { formatEndpoint, type Endpoint } from '../virtio/net/address.js';
import type { ConsoleConfig } from '../config/schema.js';
import type { ConsoleEndpoint, EndpointContext } from './endpoint.js';
import { InputPump } from './input-pump.js';

/** Output queued for a client that does not read beyond this is skipped for it (the ring still has it). */
const CLIENT_BACKLOG_BYTES = 1024 * 1024;

export type StreamTarget = { path: string } | { tcp: Endpoint };

function describe(target: StreamTarget): string {
  return 'path' in target ? target.path : formatEndpoint(target.tcp);
}

/** Whether something accepts connections on the UNIX socket at `path`. */
function socketIsLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/**
 * A socket file left by a process that is gone is replaced. A socket that
 * still answers (another console, an API socket, another program's) and
 * anything that is not a socket are left alone and refused.
 */
async function clearSocketPath(path: string): Promise<void> {
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket()) throw new ConfigError(`console socket ${path} exists and is not a socket`, { code: 'ResourceBusy' });
  if (await socketIsLive(path)) throw new ConfigError(`console socket ${path} is in use: something listens on it`, { code: 'ResourceBusy' });
  unlinkSync(path);
}

function listen(server: Server, target: StreamTarget): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = (): void => {
      server.off('error', reject);
      resolve();
    };
    if ('path' in target) server.listen(target.path, done);
    else server.listen({ host: target.tcp.host, port: target.tcp.port, exclusive: true }, done);
  });
}

export class StreamEndpoint implements ConsoleEndpoint {
  private client: Socket | undefined;

  private constructor(private readonly server: Server, private readonly target: StreamTarget, private readonly context: EndpointContext) {
    server.on('connection', (socket) => this.onConnection(socket));
  }

  static async open(target: StreamTarget, context: EndpointContext): Promise<StreamEndpoint> {
    const server = createServer();
    const endpoint = new StreamEndpoint(server, target, context);
    try {
      if ('path' in target) await clearSocketPath(target.path);
      await listen(server, target);
      // Only the owner may attach (a worker thread cannot set the umask, so this follows listen).
      if ('path' in target) chmodSync(target.path, 0o600);
    } catch (error) {
      server.close();
      if (error instanceof ConfigError) throw error;
      throw new ConfigError(`${context.name}: cannot listen on ${describe(target)}: ${errorMessage(error)}`, { cause: error });
    }
    log.info(`${context.name} console on ${describe(endpoint.boundTarget())}`);
    return endpoint;
  }

  private boundTarget(): StreamTarget {
    if ('path' in this.target) return this.target;
    const address = this.server.address();
    const port = typeof address === 'object' && address ? address.port : this.target.tcp.port;
    return { tcp: { ...this.target.tcp, port } };
  }

  private onConnection(socket: Socket): void {
    socket.on('error', () => {});
    if (this.client) {
      socket.end(`tsvmm: the ${this.context.name} console is busy: another client is attached\r\n`);
      return;
    }
    this.client = socket;
    log.info(`${this.context.name} console: client attached`);
    socket.setNoDelay?.(true);
    const pump = new InputPump(this.context.input, { pause: () => socket.pause(), resume: () => socket.resume() });
    socket.on('data', (chunk: Buffer) => pump.push(chunk));
    socket.on('close', () => {
      pump.close();
      if (this.client === socket) this.client = undefined;
      log.info(`${this.context.name} console: client detached`);
    });
    socket.write(this.context.ring.contents());
  }

  write(bytes: Uint8Array): void {
    const client = this.client;
    if (!client || client.writableLength > CLIENT_BACKLOG_BYTES) return;
    client.write(Uint8Array.from(bytes));
  }

  resolved(): Partial<ConsoleConfig> {
    const bound = this.boundTarget();
    return 'tcp' in bound ? { tcp: formatEndpoint(bound.tcp) } : {};
  }

  async close(): Promise<void> {
    this.client?.destroy();
    this.client = undefined;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    // The server removes its socket file on close; a path taken over since is left alone.
  }
}

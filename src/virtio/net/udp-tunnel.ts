// A UDP tunnel, as GNS3 links two nodes: each Ethernet frame travels as one
// datagram from the local address to the remote one, and frames come back
// the same way. No root is needed, so two VMs in two processes can be wired
// together. The socket is connected to the remote: the kernel then takes
// only the remote's datagrams, and a send needs no address (no lookup).
import { createSocket, type Socket } from 'node:dgram';
import { ConfigError, errnoOf } from '../../util/errors.js';
import { log } from '../../util/log.js';
import type { NetConfig } from '../../config/schema.js';
import { formatEndpoint, parseEndpoint, type Endpoint } from './address.js';
import type { NetBackend } from './backend.js';

/** Datagrams queued in the socket before further frames are dropped (counted). */
const MAX_QUEUED_SENDS = 1024;
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

export class UdpTunnel implements NetBackend {
  private readonly stats = { tx_errors: 0 };
  private receive: ((frame: Uint8Array) => void) | undefined;
  /** One callback for every send: it counts what the kernel refused (ECONNREFUSED while the remote is not up). */
  private readonly afterSend = (error: Error | null): void => {
    if (error) this.stats.tx_errors++;
  };

  private constructor(private readonly socket: Socket, private readonly local: Endpoint) {
    socket.on('message', (frame) => this.receive?.(frame));
    socket.on('error', (error) => {
      this.stats.tx_errors++;
      log.debug(`udp tunnel ${formatEndpoint(local)}: ${error.message}`);
    });
  }

  /** Binds the local address (port 0 picks a free port, which `resolved()` reports) and connects to the remote. */
  static async open(id: string, config: NetConfig): Promise<UdpTunnel> {
    const remote = parseEndpoint(`${id} remote`, config.remote ?? '');
    const wanted = config.local === undefined
      ? { host: remote.family === 6 ? '::' : '0.0.0.0', port: 0, family: remote.family }
      : parseEndpoint(`${id} local`, config.local);
    const socket = createSocket({ type: remote.family === 6 ? 'udp6' : 'udp4', recvBufferSize: SOCKET_BUFFER_BYTES, sendBufferSize: SOCKET_BUFFER_BYTES });
    await settle(socket, `net ${id}: cannot bind ${formatEndpoint(wanted)}`,
      (done) => socket.bind({ address: wanted.host, port: wanted.port, exclusive: true }, () => done()));
    await settle(socket, `net ${id}: cannot send to ${formatEndpoint(remote)}`,
      (done) => socket.connect(remote.port, remote.host, done));
    return new UdpTunnel(socket, { ...wanted, port: socket.address().port });
  }

  start(receive: (frame: Uint8Array) => void): void {
    this.receive = receive;
  }

  send(frame: Uint8Array): boolean {
    if (this.socket.getSendQueueCount() >= MAX_QUEUED_SENDS) return false;
    this.socket.send(frame, this.afterSend);
    return true;
  }

  // A datagram socket cannot hold frames back; the device's backlog and drop count do that.
  pauseReceive(): void {}
  resumeReceive(): void {}

  resolved(): Partial<NetConfig> {
    return { local: formatEndpoint(this.local) };
  }

  counters(): Record<string, number> {
    return { ...this.stats };
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** Runs one set-up step of `socket`; its error closes the socket and becomes a ConfigError under `what`. */
function settle(socket: Socket, what: string, step: (done: (error?: Error) => void) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const fail = (error: NodeJS.ErrnoException): void => {
      socket.close();
      reject(new ConfigError(`${what}: ${errnoOf(error)}`, { code: error.code === 'EADDRINUSE' ? 'ResourceBusy' : 'InvalidConfig', cause: error }));
    };
    socket.once('error', fail);
    step((error) => {
      socket.removeListener('error', fail);
      if (error) fail(error);
      else resolve();
    });
  });
}

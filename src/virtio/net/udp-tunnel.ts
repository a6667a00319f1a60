// A UDP tunnel, as GNS3 links two nodes: each Ethernet frame travels as one
// datagram from the local address to the remote one, and frames come back
// the same way. Only datagrams from the remote address and port are taken.
// No root is needed, so two VMs in two processes can be wired together.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { ConfigError, errnoOf } from '../../util/errors.js';
import { log } from '../../util/log.js';
import type { NetConfig } from '../../config/schema.js';
import { formatEndpoint, parseEndpoint, type Endpoint } from './address.js';
import type { NetBackend } from './backend.js';

/** Datagrams queued in the socket before further frames are dropped (counted). */
const MAX_QUEUED_SENDS = 1024;
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

export class UdpTunnel implements NetBackend {
  private readonly stats = { tx_errors: 0, rx_foreign: 0 };
  private receive: ((frame: Uint8Array) => void) | undefined;

  private constructor(private readonly socket: Socket, private readonly local: Endpoint, private readonly remote: Endpoint) {
    socket.on('message', (frame, from) => this.onMessage(frame, from));
    socket.on('error', (error) => {
      this.stats.tx_errors++;
      log.debug(`udp tunnel ${formatEndpoint(local)}: ${error.message}`);
    });
  }

  /** Binds the local address; port 0 picks a free port, which `resolved()` reports. */
  static async open(id: string, config: NetConfig): Promise<UdpTunnel> {
    const remote = parseEndpoint(`${id} remote`, config.remote ?? '');
    const wanted = config.local === undefined
      ? { host: remote.family === 6 ? '::' : '0.0.0.0', port: 0, family: remote.family }
      : parseEndpoint(`${id} local`, config.local);
    const socket = createSocket({ type: remote.family === 6 ? 'udp6' : 'udp4', recvBufferSize: SOCKET_BUFFER_BYTES, sendBufferSize: SOCKET_BUFFER_BYTES });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (error: NodeJS.ErrnoException) => {
        socket.close();
        reject(new ConfigError(`net ${id}: cannot bind ${formatEndpoint(wanted)}: ${errnoOf(error)}`, { code: error.code === 'EADDRINUSE' ? 'ResourceBusy' : 'InvalidConfig', cause: error }));
      });
      socket.bind({ address: wanted.host, port: wanted.port, exclusive: true }, () => {
        socket.removeAllListeners('error');
        resolve();
      });
    });
    const bound = socket.address();
    return new UdpTunnel(socket, { ...wanted, port: bound.port }, remote);
  }

  start(receive: (frame: Uint8Array) => void): void {
    this.receive = receive;
  }

  private onMessage(frame: Buffer, from: RemoteInfo): void {
    if (from.port !== this.remote.port || from.address !== this.remote.host) {
      this.stats.rx_foreign++;
      return;
    }
    this.receive?.(frame);
  }

  send(frame: Uint8Array): boolean {
    if (this.socket.getSendQueueCount() >= MAX_QUEUED_SENDS) return false;
    this.socket.send(frame, this.remote.port, this.remote.host, (error) => {
      if (error) this.stats.tx_errors++;
    });
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

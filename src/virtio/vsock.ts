// virtio-vsock (virtio 1.2, section 5.10): stream sockets between the guest
// and host programs, bridged to UNIX sockets as in Cloud Hypervisor and
// Firecracker (vsock/unix-socket.ts). Three queues: rx (packets for the
// guest, in buffers it offers), tx (packets from the guest), event (the
// transport-reset event after a restore). Connections and their flow
// control are in vsock/connection.ts; this file routes packets between the
// queues and the connections, and bounds what a guest can make it hold.
import type { Socket } from 'node:net';
import { serveQueue, VirtioDeviceId, type DeviceQueues, type VirtioDevice } from './device.js';
import { after, gather, scatter } from './buffers.js';
import { QueueError, type DescriptorChain } from './queue.js';
import { connectionKey, resetFor, VsockConnection } from './vsock/connection.js';
import { decodeHeader, encodeHeader, HEADER_SIZE, Op, refuseGuestHeader, type PacketHeader } from './vsock/packet.js';
import { connectToHost, listenForHost, socketStream, type HostConnectRequest, type HostListener } from './vsock/unix-socket.js';
import { RateLimitedLog } from '../util/rate-limit.js';

export const RX_QUEUE = 0;
export const TX_QUEUE = 1;
export const EVENT_QUEUE = 2;
const QUEUE_SIZE = 256;
/** As in Cloud Hypervisor: more connections at once are refused. */
export const MAX_CONNECTIONS = 1023;
/** RSTs for packets that named no connection, waiting for rx buffers; past this they are dropped (and counted). */
const MAX_STRAY_RESETS = 256;
/** Host-initiated connections get ports from 2^30 up, as in Cloud Hypervisor and Firecracker. */
const LOCAL_PORT_BASE = 1 << 30;
const EVENT_TRANSPORT_RESET = 0;
/**
 * How long a host program's CONNECT waits for the guest's answer before it is
 * refused. Cloud Hypervisor waits 2 s; tsvmm waits longer, for guests slowed
 * by emulation or load, but not forever: a guest whose driver stopped must
 * not hold host programs.
 */
export const REQUEST_TIMEOUT_MS = 10_000;

export interface VsockOptions {
  requestTimeoutMs?: number;
}

export class VirtioVsock implements VirtioDevice {
  readonly deviceId = VirtioDeviceId.Vsock;
  readonly features = 0n;
  readonly queueSizes = [QUEUE_SIZE, QUEUE_SIZE, QUEUE_SIZE];
  readonly config = new Uint8Array(8);
  private readonly guestCid: bigint;
  private queues: DeviceQueues | undefined;
  private readonly connections = new Map<string, VsockConnection>();
  /** Connections with something for the guest, in the order they asked. */
  private readonly ready = new Set<VsockConnection>();
  private readonly strayResets: PacketHeader[] = [];
  private nextLocalPort = 0;
  private readonly refusalLog = new RateLimitedLog();
  private readonly stats = {
    connections_opened: 0, connections_refused: 0, resets_sent: 0, resets_received: 0,
    tx_bytes: 0, rx_bytes: 0, packets_dropped: 0, protocol_errors: 0,
  };

  private constructor(
    readonly id: string, cid: number, private readonly socketPath: string, private readonly listener: HostListener,
    private readonly requestTimeoutMs: number,
  ) {
    this.guestCid = BigInt(cid);
    new DataView(this.config.buffer).setBigUint64(0, this.guestCid, true);
  }

  /** Listens on `socketPath` for host programs; a path in use is an error, as in Cloud Hypervisor. */
  static async open(id: string, cid: number, socketPath: string, options: VsockOptions = {}): Promise<VirtioVsock> {
    let device: VirtioVsock | undefined;
    const listener = await listenForHost(socketPath, (request) => device?.hostConnect(request));
    device = new VirtioVsock(id, cid, socketPath, listener, options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS);
    return device;
  }

  activate(queues: DeviceQueues): void {
    this.queues = queues;
  }

  notify(queue: number): void {
    if (queue === TX_QUEUE) this.takeGuestPackets();
    this.pump();
  }

  /** After a restore: the guest's connections are gone, and it is told so (for the snapshot work). */
  transportReset(): void {
    this.dropConnections();
    const queues = this.queues;
    const chain = queues?.pop(EVENT_QUEUE);
    if (!queues || !chain) return;
    const event = new Uint8Array(4);
    new DataView(event.buffer).setUint32(0, EVENT_TRANSPORT_RESET, true);
    queues.complete(EVENT_QUEUE, chain.head, scatter(chain.writable, [event], 0));
  }

  /** The host's sockets did not survive a snapshot: the guest learns that every connection is gone, as on Firecracker. */
  restored(): void {
    this.transportReset();
  }

  private takeGuestPackets(): void {
    if (!this.queues) return;
    serveQueue(this.queues, TX_QUEUE, (chain) => {
      this.fromGuest(chain);
      return 0;
    });
  }

  private fromGuest(chain: DescriptorChain): void {
    const headerBytes = gather(chain.readable, HEADER_SIZE);
    if (!headerBytes) {
      this.refuse(`a tx chain of ${chain.readableLength} bytes holds no packet header`);
      return;
    }
    const header = decodeHeader(headerBytes);
    const refused = refuseGuestHeader(header, this.guestCid, chain.readableLength - HEADER_SIZE);
    if (refused) {
      this.refuse(refused);
      if (header.op !== Op.Rst && header.srcCid === this.guestCid) this.strayReset(header);
      return;
    }
    const payload = header.len === 0 ? new Uint8Array(0) : gather(after(chain.readable, HEADER_SIZE), header.len) as Uint8Array;
    this.stats.tx_bytes += payload.length;
    this.route(header, payload);
  }

  private route(header: PacketHeader, payload: Uint8Array): void {
    const connection = this.connections.get(connectionKey(header.dstPort, header.srcPort));
    if (header.op === Op.Rst) {
      this.stats.resets_received++;
      if (connection) {
        connection.drop();
        this.remove(connection);
      }
      return;
    }
    if (!connection) {
      if (header.op === Op.Request) this.guestConnect(header);
      else this.strayReset(header);
      return;
    }
    if (header.op === Op.Request) {
      this.refuse(`REQUEST for port ${header.dstPort} from port ${header.srcPort}, which is connected`);
      connection.reset();
      return;
    }
    const broken = connection.fromGuest(header, payload);
    if (broken) {
      this.refuse(broken);
      connection.reset();
    }
  }

  /** The guest connects to a host program on port `dstPort`: the UNIX socket PATH_port. */
  private guestConnect(header: PacketHeader): void {
    if (this.connections.size >= MAX_CONNECTIONS) {
      this.stats.connections_refused++;
      this.strayReset(header);
      return;
    }
    const connection = this.track(new VsockConnection(this.guestCid, header.dstPort, header.srcPort, 'guest', (c) => this.due(c)));
    connection.notePeerCredit(header);
    // The guest may reset the connection (or the device) while the host socket is being connected.
    const stillWanted = (): boolean => this.connections.get(connection.key) === connection;
    connectToHost(this.socketPath, header.dstPort).then((socket) => {
      if (stillWanted()) this.attach(connection, socket);
      else socket.destroy();
    }, () => {
      this.stats.connections_refused++;
      if (stillWanted()) connection.reset();
    });
  }

  /** A host program sent CONNECT <port>: the guest gets a REQUEST from a fresh host port. */
  private hostConnect({ socket, port, rest }: HostConnectRequest): void {
    if (!this.queues || this.connections.size >= MAX_CONNECTIONS) {
      this.stats.connections_refused++;
      socket.destroy();
      return;
    }
    const connection = this.track(new VsockConnection(this.guestCid, this.allocateLocalPort(port), port, 'host', (c) => this.due(c)));
    this.attach(connection, socket, rest);
    this.due(connection);
    setTimeout(() => {
      if (this.connections.get(connection.key) !== connection || connection.state !== 'requesting') return;
      this.stats.connections_refused++;
      connection.reset();
    }, this.requestTimeoutMs).unref();
  }

  private allocateLocalPort(peerPort: number): number {
    for (;;) {
      this.nextLocalPort = (this.nextLocalPort + 1) % LOCAL_PORT_BASE;
      const port = LOCAL_PORT_BASE + this.nextLocalPort;
      if (!this.connections.has(connectionKey(port, peerPort))) return port;
    }
  }

  private track(connection: VsockConnection): VsockConnection {
    this.connections.set(connection.key, connection);
    this.stats.connections_opened++;
    return connection;
  }

  private attach(connection: VsockConnection, socket: Socket, initialData?: Uint8Array): void {
    connection.attach(socketStream(socket, {
      data: (bytes) => connection.hostData(bytes),
      end: () => connection.hostEnd(),
      failed: () => connection.reset(),
    }), initialData);
  }

  private due(connection: VsockConnection): void {
    this.ready.add(connection);
    this.pump();
  }

  /** Fills the guest's rx buffers: stray RSTs first, then each connection with something due, in turn. */
  private pump(): void {
    const queues = this.queues;
    if (!queues) return;
    while (this.strayResets.length > 0 || this.ready.size > 0) {
      const chain = queues.pop(RX_QUEUE);
      if (!chain) return;
      if (chain.readableLength !== 0 || chain.writableLength < HEADER_SIZE) {
        queues.fail(new QueueError(`rx chain ${chain.head} is not a device-writable buffer of at least ${HEADER_SIZE} bytes`));
        return;
      }
      const written = this.fill(chain);
      if (written === 0) {
        queues.unpop(RX_QUEUE, 1);
        return;
      }
      queues.complete(RX_QUEUE, chain.head, written);
      if (!queues.live) return;
    }
  }

  /** One packet into `chain`; 0 when nothing was due after all. */
  private fill(chain: DescriptorChain): number {
    const stray = this.strayResets.shift();
    if (stray) {
      this.stats.resets_sent++;
      return scatter(chain.writable, [encodeHeader(stray)], 0);
    }
    // A snapshot: a connection put back for later is not visited again in this call.
    for (const connection of [...this.ready]) {
      this.ready.delete(connection);
      const packet = connection.nextPacket(chain.writableLength - HEADER_SIZE);
      if (connection.hasPending()) this.ready.add(connection);
      if (connection.finished) this.remove(connection);
      if (!packet) continue;
      if (packet.header.op === Op.Rst) this.stats.resets_sent++;
      this.stats.rx_bytes += packet.payload?.length ?? 0;
      return scatter(chain.writable, packet.payload ? [encodeHeader(packet.header), packet.payload] : [encodeHeader(packet.header)], 0);
    }
    return 0;
  }

  private strayReset(header: PacketHeader): void {
    if (this.strayResets.length >= MAX_STRAY_RESETS) {
      this.stats.packets_dropped++;
      return;
    }
    this.strayResets.push(resetFor(header));
  }

  /** Guest-triggerable, so rate limited; the packet or connection is refused and the device carries on. */
  private refuse(reason: string): void {
    this.stats.protocol_errors++;
    this.refusalLog.warn(`vsock ${this.id}: ${reason}`);
  }

  private remove(connection: VsockConnection): void {
    this.connections.delete(connection.key);
    this.ready.delete(connection);
  }

  private dropConnections(): void {
    for (const connection of this.connections.values()) connection.drop();
    this.connections.clear();
    this.ready.clear();
    this.strayResets.length = 0;
  }

  counters(): Record<string, number> {
    return { ...this.stats, connections_active: this.connections.size };
  }

  reset(): void {
    this.queues = undefined;
    this.dropConnections();
  }

  async close(): Promise<void> {
    this.reset();
    await this.listener.close();
  }
}

// One vsock stream between a guest port and a host UNIX socket: its state,
// and the credit-based flow control of virtio 1.2, section 5.10.6.3, in both
// directions. No sockets here: the host end is a HostStream, so the protocol
// can be tested alone.
//
// Credit: each side tells the other its buffer (buf_alloc) and how much of
// the stream it has consumed (fwd_cnt); a sender may have at most
// buf_alloc - (sent - fwd_cnt) bytes outstanding. The guest's credit bounds
// what tsvmm reads from the host socket; tsvmm's credit bounds what the
// guest may send, and a guest that sends past it is reset.
import { HOST_CID, Op, ShutdownFlag, TYPE_STREAM, type PacketHeader } from './packet.js';

/** The receive buffer tsvmm offers the guest per connection: the most a connection holds on its way to the host. */
export const BUF_ALLOC = 128 * 1024;
/** Bytes read from the host socket and not yet sent to the guest; past this, reading pauses. */
export const HOST_READ_HIGH_WATER = 64 * 1024;

/** The host end of a connection: a UNIX socket, or a fake in tests. */
export interface HostStream {
  /** Tells a host program that asked with CONNECT that the guest accepted, from host port `localPort`. */
  accepted(localPort: number): void;
  /** `done` runs once the bytes are handed to the kernel (they then count as consumed). */
  write(bytes: Uint8Array, done: () => void): void;
  /** The guest will send no more: half-close the host socket once written. */
  endWrite(): void;
  pauseRead(): void;
  resumeRead(): void;
  /** Writes what is queued, then closes: the guest closed the connection. */
  close(): void;
  /** Closes now, dropping what is queued: a reset. */
  destroy(): void;
}

export type ConnectionState =
  /** Host-initiated: REQUEST sent or due, waiting for the guest's RESPONSE. */
  | 'requesting'
  /** Guest-initiated: the host socket PATH_port is being connected. */
  | 'connecting'
  | 'established'
  /** An RST is due or sent; the connection is gone once it is. */
  | 'closed';

export interface OutgoingPacket {
  header: PacketHeader;
  payload?: Uint8Array;
}

const u32 = (n: number): number => n >>> 0;

export class VsockConnection {
  state: ConnectionState;
  private pendingOp: number | undefined;
  private shutdownSent = false;
  /** Host bytes waiting for guest credit. */
  private readonly toGuest: Uint8Array[] = [];
  private toGuestBytes = 0;
  private readPaused = false;
  private hostEnded = false;
  private sentToGuest = 0;
  private peerBufAlloc = 0;
  private peerFwdCnt = 0;
  private creditRequested = false;
  /** Guest bytes received, and handed to the host socket (fwd_cnt), modulo 2^32. */
  private received = 0;
  private fwdCnt = 0;
  private lastFwdCntSent = 0;
  private guestSendDone = false;
  private guestReceiveDone = false;
  private stream: HostStream | undefined;

  constructor(
    readonly guestCid: bigint,
    /** The host side's port: the one CONNECT allocated, or the port the guest connected to. */
    readonly localPort: number,
    readonly peerPort: number,
    initiator: 'host' | 'guest',
    /** Something became due to send: the device should offer it to the guest. */
    private readonly onPending: (connection: VsockConnection) => void,
  ) {
    this.state = initiator === 'host' ? 'requesting' : 'connecting';
    if (initiator === 'host') this.pendingOp = Op.Request;
  }

  get key(): string {
    return connectionKey(this.localPort, this.peerPort);
  }

  /** The host socket is connected (guest-initiated: it answers the guest's REQUEST). */
  attach(stream: HostStream, initialData?: Uint8Array): void {
    this.stream = stream;
    if (initialData && initialData.length > 0) this.hostData(initialData);
    if (this.state === 'connecting') {
      this.state = 'established';
      this.due(Op.Response);
      stream.resumeRead();
    }
  }

  /** Bytes the host socket produced. */
  hostData(bytes: Uint8Array): void {
    if (this.state === 'closed' || this.guestReceiveDone) return;
    this.toGuest.push(bytes);
    this.toGuestBytes += bytes.length;
    if (this.toGuestBytes >= HOST_READ_HIGH_WATER && !this.readPaused) {
      this.readPaused = true;
      this.stream?.pauseRead();
    }
    this.onPending(this);
  }

  /** The host socket will send no more. */
  hostEnd(): void {
    this.hostEnded = true;
    this.onPending(this);
  }

  /** The host socket failed or the VMM drops the connection: the guest gets an RST. */
  reset(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.due(Op.Rst);
    this.stream?.destroy();
  }

  /** Gone without a word to the guest: it reset the connection, or the device was reset. */
  drop(): void {
    this.state = 'closed';
    this.pendingOp = undefined;
    this.stream?.destroy();
  }

  /** Whether the guest broke the protocol; the caller then resets the connection. */
  fromGuest(header: PacketHeader, payload: Uint8Array): string | undefined {
    // Packets the guest sent before it saw tsvmm's RST are not its fault.
    if (this.state === 'closed') return undefined;
    this.notePeerCredit(header);
    const broken = this.apply(header, payload);
    // Any packet may carry new credit (Linux's data packets do), which lets waiting host bytes go.
    if (!broken && this.hasPending()) this.onPending(this);
    return broken;
  }

  private apply(header: PacketHeader, payload: Uint8Array): string | undefined {
    switch (header.op) {
      case Op.Response:
        if (this.state !== 'requesting') return `RESPONSE on a connection that is ${this.state}`;
        this.state = 'established';
        this.stream?.accepted(this.localPort);
        if (!this.readPaused) this.stream?.resumeRead();
        return undefined;
      case Op.Rw:
        return this.guestData(payload);
      case Op.CreditRequest:
        if (this.state === 'established') this.due(Op.CreditUpdate);
        return undefined;
      case Op.Shutdown:
        this.guestShutdown(header.flags);
        return undefined;
      case Op.CreditUpdate:
        return undefined;
      default:
        return `operation ${header.op} on an open connection`;
    }
  }

  /** Every guest packet carries its buffer size and consumed count. */
  notePeerCredit(header: PacketHeader): void {
    this.peerBufAlloc = header.bufAlloc;
    this.peerFwdCnt = header.fwdCnt;
    if (this.peerCredit() > 0) this.creditRequested = false;
  }

  private guestData(payload: Uint8Array): string | undefined {
    if (this.state !== 'established') return `data on a connection that is ${this.state}`;
    if (this.guestSendDone) return 'data after the guest shut its sending side';
    if (u32(this.received - this.fwdCnt) + payload.length > BUF_ALLOC) {
      return `the guest sent ${payload.length} bytes past its credit (${BUF_ALLOC - u32(this.received - this.fwdCnt)} left)`;
    }
    this.received = u32(this.received + payload.length);
    const copy = payload.slice();
    this.stream?.write(copy, () => this.consumed(copy.length));
    return undefined;
  }

  /**
   * The host took `length` bytes. Linux sends no CREDIT_REQUEST when its
   * credit runs out, it waits: so once the guest's view of the free space
   * (from the fwd_cnt it last saw) is under half, it is told the new one,
   * in steps of a quarter of the buffer, and whenever everything is consumed.
   */
  private consumed(length: number): void {
    this.fwdCnt = u32(this.fwdCnt + length);
    const guestSeesFree = BUF_ALLOC - u32(this.received - this.lastFwdCntSent);
    const unreported = u32(this.fwdCnt - this.lastFwdCntSent);
    const worthTelling = unreported >= BUF_ALLOC / 4 || this.fwdCnt === this.received;
    if (this.state === 'established' && guestSeesFree < BUF_ALLOC / 2 && worthTelling) this.due(Op.CreditUpdate);
  }

  private guestShutdown(flags: number): void {
    if (flags & ShutdownFlag.Send && !this.guestSendDone) {
      this.guestSendDone = true;
      this.stream?.endWrite();
    }
    if (flags & ShutdownFlag.Receive) {
      this.guestReceiveDone = true;
      this.toGuest.length = 0;
      this.toGuestBytes = 0;
    }
    // A guest that closed both ways waits for an RST to free its socket (Linux's close()).
    if (this.guestSendDone && this.guestReceiveDone) {
      this.state = 'closed';
      this.due(Op.Rst);
      this.stream?.close();
    }
  }

  private due(op: number): void {
    // An RST outranks anything else that was due; a credit update never replaces a REQUEST or RESPONSE.
    if (this.pendingOp === undefined || op === Op.Rst || this.pendingOp === Op.CreditUpdate) this.pendingOp = op;
    this.onPending(this);
  }

  private peerCredit(): number {
    return u32(this.peerBufAlloc - u32(this.sentToGuest - this.peerFwdCnt));
  }

  /** Whether nextPacket would give something (given room for a payload). */
  hasPending(): boolean {
    const op = this.pendingOp;
    if (op !== undefined && op !== Op.CreditUpdate) return true;
    if (this.state !== 'established') return false;
    if (this.toGuestBytes > 0 && (this.peerCredit() > 0 || !this.creditRequested)) return true;
    if (op === Op.CreditUpdate) return true;
    return this.hostEnded && !this.shutdownSent && this.toGuestBytes === 0;
  }

  /** The next packet for the guest, its payload at most `room` bytes; undefined when nothing is due. */
  nextPacket(room: number): OutgoingPacket | undefined {
    const op = this.pendingOp;
    if (op !== undefined && op !== Op.CreditUpdate) {
      this.pendingOp = undefined;
      return { header: this.header(op, 0) };
    }
    if (this.state !== 'established') return undefined;
    if (this.toGuestBytes > 0) {
      const packet = this.dataPacket(room);
      // Every packet carries fwd_cnt: a data packet is the credit update too.
      if (packet) this.pendingOp = undefined;
      if (packet || op === undefined) return packet;
    }
    if (op === Op.CreditUpdate) {
      this.pendingOp = undefined;
      return { header: this.header(op, 0) };
    }
    if (this.hostEnded && !this.shutdownSent && this.toGuestBytes === 0) {
      this.shutdownSent = true;
      return { header: { ...this.header(Op.Shutdown, 0), flags: ShutdownFlag.Send } };
    }
    return undefined;
  }

  private dataPacket(room: number): OutgoingPacket | undefined {
    const credit = this.peerCredit();
    if (credit === 0) {
      if (this.creditRequested) return undefined;
      this.creditRequested = true;
      return { header: this.header(Op.CreditRequest, 0) };
    }
    const length = Math.min(room, credit, this.toGuestBytes);
    if (length <= 0) return undefined;
    const payload = this.takeToGuest(length);
    this.sentToGuest = u32(this.sentToGuest + length);
    return { header: this.header(Op.Rw, length), payload };
  }

  private takeToGuest(length: number): Uint8Array {
    const out = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const chunk = this.toGuest[0] as Uint8Array;
      const take = Math.min(chunk.length, length - filled);
      out.set(chunk.subarray(0, take), filled);
      filled += take;
      if (take === chunk.length) this.toGuest.shift();
      else this.toGuest[0] = chunk.subarray(take);
    }
    this.toGuestBytes -= length;
    if (this.readPaused && this.toGuestBytes < HOST_READ_HIGH_WATER / 2) {
      this.readPaused = false;
      this.stream?.resumeRead();
    }
    return out;
  }

  private header(op: number, len: number): PacketHeader {
    this.lastFwdCntSent = this.fwdCnt;
    return {
      srcCid: HOST_CID, dstCid: this.guestCid, srcPort: this.localPort, dstPort: this.peerPort,
      len, type: TYPE_STREAM, op, flags: 0, bufAlloc: BUF_ALLOC, fwdCnt: this.fwdCnt,
    };
  }

  /** Whether the connection is over: closed, with its RST handed to the guest. */
  get finished(): boolean {
    return this.state === 'closed' && this.pendingOp === undefined;
  }
}

export function connectionKey(localPort: number, peerPort: number): string {
  return `${localPort}:${peerPort}`;
}

/** The RST for a packet that names no connection (virtio 1.2, 5.10.6.4). */
export function resetFor(header: PacketHeader): PacketHeader {
  return {
    srcCid: HOST_CID, dstCid: header.srcCid, srcPort: header.dstPort, dstPort: header.srcPort,
    len: 0, type: TYPE_STREAM, op: Op.Rst, flags: 0, bufAlloc: 0, fwdCnt: 0,
  };
}


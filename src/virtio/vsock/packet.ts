// The virtio-vsock packet header (virtio 1.2, section 5.10.6): 44 bytes,
// little-endian, before every packet's payload on both queues. Everything in
// a header the guest wrote is checked here before it reaches a connection.

export const HEADER_SIZE = 44;
/** The host's CID: every guest packet must be addressed to it. */
export const HOST_CID = 2n;
export const TYPE_STREAM = 1;
/** The largest payload one packet may carry (Linux sends at most 64 KiB; so does Cloud Hypervisor). */
export const MAX_PAYLOAD = 64 * 1024;

export const Op = {
  Request: 1,
  Response: 2,
  Rst: 3,
  Shutdown: 4,
  Rw: 5,
  CreditUpdate: 6,
  CreditRequest: 7,
} as const;
export type OpCode = (typeof Op)[keyof typeof Op];

/** SHUTDOWN's flags: the sender will receive no more, send no more. */
export const ShutdownFlag = { Receive: 1, Send: 2 } as const;

const Offset = {
  SrcCid: 0, DstCid: 8, SrcPort: 16, DstPort: 20, Len: 24, Type: 28, Op: 30, Flags: 32, BufAlloc: 36, FwdCnt: 40,
} as const;

export interface PacketHeader {
  srcCid: bigint;
  dstCid: bigint;
  srcPort: number;
  dstPort: number;
  /** Payload bytes after the header (RW only). */
  len: number;
  type: number;
  op: number;
  flags: number;
  /** The sender's receive buffer for this connection, in bytes. */
  bufAlloc: number;
  /** How many bytes of this connection the sender has consumed, modulo 2^32. */
  fwdCnt: number;
}

export function encodeHeader(header: PacketHeader): Uint8Array {
  const bytes = new Uint8Array(HEADER_SIZE);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(Offset.SrcCid, header.srcCid, true);
  view.setBigUint64(Offset.DstCid, header.dstCid, true);
  view.setUint32(Offset.SrcPort, header.srcPort, true);
  view.setUint32(Offset.DstPort, header.dstPort, true);
  view.setUint32(Offset.Len, header.len, true);
  view.setUint16(Offset.Type, header.type, true);
  view.setUint16(Offset.Op, header.op, true);
  view.setUint32(Offset.Flags, header.flags, true);
  view.setUint32(Offset.BufAlloc, header.bufAlloc, true);
  view.setUint32(Offset.FwdCnt, header.fwdCnt, true);
  return bytes;
}

/** `bytes` holds at least HEADER_SIZE bytes. */
export function decodeHeader(bytes: Uint8Array): PacketHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE);
  return {
    srcCid: view.getBigUint64(Offset.SrcCid, true),
    dstCid: view.getBigUint64(Offset.DstCid, true),
    srcPort: view.getUint32(Offset.SrcPort, true),
    dstPort: view.getUint32(Offset.DstPort, true),
    len: view.getUint32(Offset.Len, true),
    type: view.getUint16(Offset.Type, true),
    op: view.getUint16(Offset.Op, true),
    flags: view.getUint32(Offset.Flags, true),
    bufAlloc: view.getUint32(Offset.BufAlloc, true),
    fwdCnt: view.getUint32(Offset.FwdCnt, true),
  };
}

/**
 * Why a header the guest sent cannot be taken, or undefined when it can.
 * `payloadBytes` is what the chain holds after the header.
 */
export function refuseGuestHeader(header: PacketHeader, guestCid: bigint, payloadBytes: number): string | undefined {
  if (header.srcCid !== guestCid) return `source CID ${header.srcCid} is not the guest's (${guestCid})`;
  if (header.dstCid !== HOST_CID) return `destination CID ${header.dstCid} is not the host's (${HOST_CID})`;
  if (header.type !== TYPE_STREAM) return `socket type ${header.type} is not a stream (${TYPE_STREAM})`;
  if (header.op < Op.Request || header.op > Op.CreditRequest) return `operation ${header.op} is unknown`;
  if (header.op !== Op.Rw && header.len !== 0) return `operation ${header.op} carries ${header.len} payload bytes`;
  if (header.len > MAX_PAYLOAD) return `payload length ${header.len} is over ${MAX_PAYLOAD}`;
  if (header.len > payloadBytes) return `payload length ${header.len} is more than the ${payloadBytes} bytes the buffers hold`;
  if (header.op === Op.Shutdown && (header.flags & ~(ShutdownFlag.Receive | ShutdownFlag.Send)) !== 0) {
    return `shutdown flags 0x${header.flags.toString(16)} are unknown`;
  }
  return undefined;
}

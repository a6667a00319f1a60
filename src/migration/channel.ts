// The migration wire format between two tsvmm processes: frames of an
// 8-byte header (type, three zero bytes, payload length as u32 LE) and a
// payload. JSON frames carry the hello, the device state and the replies;
// a memory frame is a u64 LE offset in the guest memory mapping followed
// by the bytes there. The peer is not trusted: every header is checked
// before its payload is read, and the reader holds at most one frame.
import type { Socket } from 'node:net';
import { MigrationError } from '../util/errors.js';

export const FrameType = { Hello: 1, Memory: 2, State: 3, Reply: 4 } as const;
export type FrameTypeValue = (typeof FrameType)[keyof typeof FrameType];

const HEADER_BYTES = 8;
const OFFSET_BYTES = 8;
/** The longest run of pages in one memory frame. */
export const MAX_MEMORY_RUN = 4 << 20;
const MAX_JSON_BYTES = 64 << 20;
/** Past this much unread data the socket is paused, so a fast sender cannot fill the receiver's heap. */
const HIGH_WATER = 32 << 20;

export interface Frame {
  type: FrameTypeValue;
  payload: Buffer;
}

export type Reply = { ok: true } | { ok: false; message: string };

function payloadLimit(type: number): number | undefined {
  if (type === FrameType.Memory) return OFFSET_BYTES + MAX_MEMORY_RUN;
  if (type === FrameType.Hello || type === FrameType.State || type === FrameType.Reply) return MAX_JSON_BYTES;
  return undefined;
}

/** Reads frames off a socket, one `next()` at a time. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private waiter: { resolve: (frame: Frame) => void; reject: (error: Error) => void } | undefined;
  private failure: Error | undefined;

  constructor(private readonly socket: Socket, private readonly peer: string) {
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      if (this.buffered > HIGH_WATER) socket.pause();
      this.pump();
    });
    socket.on('end', () => this.fail(new MigrationError(`the ${peer} closed the connection`)));
    socket.on('close', () => this.fail(new MigrationError(`the connection to the ${peer} closed`)));
    socket.on('error', (error) => this.fail(new MigrationError(`the connection to the ${peer} failed: ${error.message}`)));
  }

  /** The next frame; rejects once the connection ended or sent a malformed frame. */
  next(): Promise<Frame> {
    if (this.waiter) throw new Error('FrameReader.next() called twice');
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.pump();
    });
  }

  /** The next frame, which must be of `type`; a Reply with ok false becomes the peer's error. */
  async expect(type: FrameTypeValue): Promise<Buffer> {
    const frame = await this.next();
    if (frame.type === FrameType.Reply && type !== FrameType.Reply) {
      const reply = parseJson<Reply>(frame.payload, this.peer);
      throw new MigrationError(reply.ok ? `the ${this.peer} replied before it was asked` : `the ${this.peer} failed: ${reply.message}`);
    }
    if (frame.type !== type) throw new MigrationError(`the ${this.peer} sent frame type ${frame.type}, not ${type}`);
    return frame.payload;
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.pump();
  }

  private pump(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    let frame: Frame | undefined;
    try {
      frame = this.take();
    } catch (error) {
      this.failure = error as Error;
      this.socket.destroy();
    }
    if (frame) {
      this.waiter = undefined;
      waiter.resolve(frame);
    } else if (this.failure) {
      this.waiter = undefined;
      waiter.reject(this.failure);
    }
  }

  /** A whole frame from the buffered bytes, or undefined when more must arrive. */
  private take(): Frame | undefined {
    if (this.buffered < HEADER_BYTES) return undefined;
    const header = this.peek(HEADER_BYTES);
    const type = header[0] as number;
    const length = header.readUInt32LE(4);
    const limit = payloadLimit(type);
    if (limit === undefined || header[1] !== 0 || header[2] !== 0 || header[3] !== 0) {
      throw new MigrationError(`the ${this.peer} sent a malformed frame header (type ${type})`);
    }
    if (length > limit) throw new MigrationError(`the ${this.peer} sent a frame of ${length} bytes; type ${type} allows ${limit}`);
    if (this.buffered < HEADER_BYTES + length) return undefined;
    const bytes = this.consume(HEADER_BYTES + length);
    if (this.buffered <= HIGH_WATER) this.socket.resume();
    return { type: type as FrameTypeValue, payload: bytes.subarray(HEADER_BYTES) };
  }

  private peek(length: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length >= length) return first.subarray(0, length);
    this.chunks = [Buffer.concat(this.chunks)];
    return (this.chunks[0] as Buffer).subarray(0, length);
  }

  private consume(length: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length < length) this.chunks = [Buffer.concat(this.chunks)];
    const whole = this.chunks[0] as Buffer;
    const out = whole.subarray(0, length);
    if (whole.length === length) this.chunks.shift();
    else this.chunks[0] = whole.subarray(length);
    this.buffered -= length;
    return out;
  }
}

export function parseJson<T>(payload: Buffer, peer: string): T {
  try {
    return JSON.parse(payload.toString('utf8')) as T;
  } catch (error) {
    throw new MigrationError(`the ${peer} sent JSON that does not parse: ${(error as Error).message}`);
  }
}

/** Resolves when the socket can take more, rejects when it closed first. */
function drained(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = (): void => { socket.off('close', onClose); resolve(); };
    const onClose = (): void => { socket.off('drain', onDrain); reject(new MigrationError('the connection closed while sending')); };
    socket.once('drain', onDrain);
    socket.once('close', onClose);
  });
}

/** Writes one frame; waits while the socket's buffer is full. */
export async function writeFrame(socket: Socket, type: FrameTypeValue, parts: Uint8Array[]): Promise<void> {
  if (socket.destroyed) throw new MigrationError('the connection is closed');
  const header = Buffer.alloc(HEADER_BYTES);
  header[0] = type;
  header.writeUInt32LE(parts.reduce((sum, part) => sum + part.length, 0), 4);
  let room = socket.write(header);
  for (const part of parts) room = socket.write(part);
  if (!room) await drained(socket);
}

export function writeJson(socket: Socket, type: FrameTypeValue, value: unknown): Promise<void> {
  return writeFrame(socket, type, [Buffer.from(JSON.stringify(value))]);
}

/** A memory frame: `bytes` is the mapping at `offset`. */
export function writeMemory(socket: Socket, offset: number, bytes: Uint8Array): Promise<void> {
  const head = Buffer.alloc(OFFSET_BYTES);
  head.writeBigUInt64LE(BigInt(offset));
  return writeFrame(socket, FrameType.Memory, [head, bytes]);
}

/** A memory frame's offset and bytes. */
export function readMemoryFrame(payload: Buffer, peer: string): { offset: number; bytes: Buffer } {
  if (payload.length < OFFSET_BYTES) throw new MigrationError(`the ${peer} sent a memory frame without an offset`);
  const offset = payload.readBigUInt64LE(0);
  if (offset > BigInt(Number.MAX_SAFE_INTEGER)) throw new MigrationError(`the ${peer} sent a memory offset out of range`);
  return { offset: Number(offset), bytes: payload.subarray(OFFSET_BYTES) };
}

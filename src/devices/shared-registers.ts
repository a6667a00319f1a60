// Device state that several threads touch (each vCPU worker answers the
// guest's register accesses; the main thread feeds input): 32-bit slots
// over a SharedArrayBuffer, guarded by a futex-style lock in slot 0. A slot
// reads back as the unsigned value a register holds, whatever was stored.

const LOCK = 0;
const UNLOCKED = 0;
const LOCKED = 1;
const CONTENDED = 2;

export class SharedRegisters {
  readonly buffer: SharedArrayBuffer;
  protected readonly words: Int32Array;
  private readonly slots: Uint32Array;

  /** `words` slots after the lock, then `extraBytes` of raw bytes. */
  static allocate(words: number, extraBytes = 0): SharedArrayBuffer {
    return new SharedArrayBuffer((words + 1) * 4 + extraBytes);
  }

  constructor(buffer: SharedArrayBuffer, words: number) {
    this.buffer = buffer;
    this.words = new Int32Array(buffer, 0, words + 1);
    this.slots = new Uint32Array(buffer, 4, words);
  }

  /** Raw bytes after the word slots (for FIFOs). */
  protected bytesAfterWords(): Uint8Array {
    return new Uint8Array(this.buffer, this.words.byteLength);
  }

  /** The slot's value, 0 to 2^32 - 1. */
  protected get(slot: number): number {
    return this.slots[slot] as number;
  }

  /** Stores `value` modulo 2^32. */
  protected set(slot: number, value: number): void {
    this.slots[slot] = value;
  }

  /** Runs `body` holding the lock. Bodies are short register updates. */
  protected locked<T>(body: () => T): T {
    let state = Atomics.compareExchange(this.words, LOCK, UNLOCKED, LOCKED);
    while (state !== UNLOCKED) {
      if (state === CONTENDED || Atomics.compareExchange(this.words, LOCK, LOCKED, CONTENDED) !== UNLOCKED) {
        Atomics.wait(this.words, LOCK, CONTENDED);
      }
      state = Atomics.compareExchange(this.words, LOCK, UNLOCKED, CONTENDED);
    }
    try {
      return body();
    } finally {
      if (Atomics.exchange(this.words, LOCK, UNLOCKED) === CONTENDED) Atomics.notify(this.words, LOCK, 1);
    }
  }
}

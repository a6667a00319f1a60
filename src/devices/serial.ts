// A 16550A UART (COM1). Register semantics follow the 16550 datasheet:
// divisor latch behind LCR.DLAB, IER/IIR interrupt identification by
// priority, LSR data-ready and transmitter-empty, loopback through MCR/MSR.
// Transmission is instant, so THR is always empty again after a write.
// The interrupt line is level: high while IIR reports a pending interrupt.
import type { BusDevice } from './bus.js';
import { SharedRegisters } from './shared-registers.js';

export const SERIAL_PORT_COUNT = 8;
const RX_CAPACITY = 4096;

// Register offsets.
const DATA = 0;
const IER = 1;
const IIR_FCR = 2;
const LCR = 3;
const MCR = 4;
const LSR = 5;
const MSR = 6;
const SCR = 7;

const IER_RX_DATA = 0x01;
const IER_THR_EMPTY = 0x02;
const IER_MASK = 0x0f;
const IIR_NONE = 0x01;
const IIR_THR_EMPTY = 0x02;
const IIR_RX_DATA = 0x04;
const IIR_FIFO_ENABLED = 0xc0;
const FCR_ENABLE_FIFO = 0x01;
const FCR_CLEAR_RX = 0x02;
const LCR_DLAB = 0x80;
const MCR_MASK = 0x1f;
const MCR_LOOP = 0x10;
const LSR_DATA_READY = 0x01;
const LSR_THR_EMPTY = 0x20;
const LSR_IDLE = 0x40;
/** Carrier detect, data set ready, clear to send: a cable is plugged in. */
const MSR_CONNECTED = 0xb0;

// Slots in the shared state.
enum Slot {
  Ier, Lcr, Mcr, Scr, Dll, Dlm, FifoEnabled, ThrEmptyPending, IrqLevel, RxHead, RxCount, Count,
}

export type SerialOutput = (byte: number) => void;
export type IrqSetter = (level: 0 | 1) => void;

export class Serial16550 extends SharedRegisters implements BusDevice {
  private readonly rx: Uint8Array;

  static createState(): SharedArrayBuffer {
    const buffer = SharedRegisters.allocate(Slot.Count, RX_CAPACITY);
    const serial = new Serial16550(buffer, () => {}, () => {});
    serial.set(Slot.Dll, 0x0c); // 9600 baud, as after a BIOS
    serial.set(Slot.Lcr, 0x03); // 8N1
    serial.set(Slot.Mcr, 0x08); // OUT2
    return buffer;
  }

  constructor(
    buffer: SharedArrayBuffer,
    private readonly output: SerialOutput,
    private readonly setIrq: IrqSetter,
  ) {
    super(buffer, Slot.Count);
    this.rx = this.bytesAfterWords().subarray(0, RX_CAPACITY);
  }

  read(offset: number, _size: number): number {
    return this.locked(() => {
      const value = this.readRegister(offset);
      this.updateIrq();
      return value;
    });
  }

  write(offset: number, _size: number, value: number): void {
    const transmitted = this.locked(() => {
      const byte = this.writeRegister(offset, value & 0xff);
      this.updateIrq();
      return byte;
    });
    if (transmitted !== undefined) this.output(transmitted);
  }

  /** Queues input for the guest; returns how many bytes fitted. */
  enqueueInput(bytes: Uint8Array): number {
    return this.locked(() => {
      const accepted = this.pushRx(bytes);
      this.updateIrq();
      return accepted;
    });
  }

  private dlab(): boolean {
    return (this.get(Slot.Lcr) & LCR_DLAB) !== 0;
  }

  private loopback(): boolean {
    return (this.get(Slot.Mcr) & MCR_LOOP) !== 0;
  }

  private readRegister(offset: number): number {
    switch (offset) {
      case DATA: return this.dlab() ? this.get(Slot.Dll) : this.popRx();
      case IER: return this.dlab() ? this.get(Slot.Dlm) : this.get(Slot.Ier);
      case IIR_FCR: return this.readIir();
      case LCR: return this.get(Slot.Lcr);
      case MCR: return this.get(Slot.Mcr);
      case LSR: return LSR_THR_EMPTY | LSR_IDLE | (this.get(Slot.RxCount) > 0 ? LSR_DATA_READY : 0);
      case MSR: return this.modemStatus();
      case SCR: return this.get(Slot.Scr);
      default: return 0xff;
    }
  }

  /** Returns the byte to transmit, if any. */
  private writeRegister(offset: number, value: number): number | undefined {
    switch (offset) {
      case DATA:
        if (this.dlab()) {
          this.set(Slot.Dll, value);
          return undefined;
        }
        this.set(Slot.ThrEmptyPending, 1);
        if (this.loopback()) {
          this.pushRx(Uint8Array.of(value));
          return undefined;
        }
        return value;
      case IER:
        if (this.dlab()) {
          this.set(Slot.Dlm, value);
        } else {
          const enablingThrEmpty = (value & IER_THR_EMPTY) !== 0 && (this.get(Slot.Ier) & IER_THR_EMPTY) === 0;
          if (enablingThrEmpty) this.set(Slot.ThrEmptyPending, 1);
          this.set(Slot.Ier, value & IER_MASK);
        }
        return undefined;
      case IIR_FCR:
        this.set(Slot.FifoEnabled, value & FCR_ENABLE_FIFO);
        if (value & FCR_CLEAR_RX) this.set(Slot.RxCount, 0);
        return undefined;
      case LCR: this.set(Slot.Lcr, value); return undefined;
      case MCR: this.set(Slot.Mcr, value & MCR_MASK); return undefined;
      case SCR: this.set(Slot.Scr, value); return undefined;
      default: return undefined; // LSR and MSR are read-only
    }
  }

  private pendingInterrupt(): number {
    const ier = this.get(Slot.Ier);
    if ((ier & IER_RX_DATA) && this.get(Slot.RxCount) > 0) return IIR_RX_DATA;
    if ((ier & IER_THR_EMPTY) && this.get(Slot.ThrEmptyPending)) return IIR_THR_EMPTY;
    return IIR_NONE;
  }

  /** Reading IIR while it reports THR empty acknowledges that interrupt. */
  private readIir(): number {
    const pending = this.pendingInterrupt();
    if (pending === IIR_THR_EMPTY) this.set(Slot.ThrEmptyPending, 0);
    return pending | (this.get(Slot.FifoEnabled) ? IIR_FIFO_ENABLED : 0);
  }

  /** In loopback, MCR's DTR/RTS/OUT1/OUT2 appear as DSR/CTS/RI/DCD. */
  private modemStatus(): number {
    if (!this.loopback()) return MSR_CONNECTED;
    const mcr = this.get(Slot.Mcr);
    return ((mcr & 0x02) << 3) | ((mcr & 0x01) << 5) | ((mcr & 0x04) << 4) | ((mcr & 0x08) << 4);
  }

  private pushRx(bytes: Uint8Array): number {
    const count = this.get(Slot.RxCount);
    const accepted = Math.min(bytes.length, RX_CAPACITY - count);
    const head = this.get(Slot.RxHead);
    for (let i = 0; i < accepted; i++) this.rx[(head + count + i) % RX_CAPACITY] = bytes[i] as number;
    this.set(Slot.RxCount, count + accepted);
    return accepted;
  }

  private popRx(): number {
    const count = this.get(Slot.RxCount);
    if (count === 0) return 0;
    const head = this.get(Slot.RxHead);
    this.set(Slot.RxHead, (head + 1) % RX_CAPACITY);
    this.set(Slot.RxCount, count - 1);
    return this.rx[head] as number;
  }

  private updateIrq(): void {
    const level = this.pendingInterrupt() === IIR_NONE ? 0 : 1;
    if (level === this.get(Slot.IrqLevel)) return;
    this.set(Slot.IrqLevel, level);
    this.setIrq(level);
  }
}

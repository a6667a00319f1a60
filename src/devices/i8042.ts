// An i8042 keyboard controller with no keyboard or mouse behind it: enough
// for Linux's probe (self test, command byte, port tests, keyboard ACKs)
// and for the reset line, which the guest pulses to reboot (0xFE to 0x64).
// Registered at port 0x60 as 5 ports so 0x60 is data and 0x64 is
// status/command.
import type { BusDevice } from './bus.js';
import { SharedRegisters } from './shared-registers.js';

export const I8042_PORT_COUNT = 5;
const DATA_OFFSET = 0;
const COMMAND_OFFSET = 4;
const QUEUE_CAPACITY = 16;

const STATUS_OUTPUT_FULL = 0x01;
const STATUS_SYSTEM = 0x04;
/** Set when the keyboard is not inhibited (no keylock). */
const STATUS_UNLOCKED = 0x10;
const STATUS_COMMAND = 0x08;
const STATUS_AUX_DATA = 0x20;

const CTR_KBD_INT = 0x01;
const CTR_AUX_INT = 0x02;
const CTR_SYSTEM = 0x04;
const CTR_KBD_DISABLED = 0x10;
const CTR_AUX_DISABLED = 0x20;

const CMD_READ_CTR = 0x20;
const CMD_WRITE_CTR = 0x60;
const CMD_AUX_DISABLE = 0xa7;
const CMD_AUX_ENABLE = 0xa8;
const CMD_AUX_TEST = 0xa9;
const CMD_SELF_TEST = 0xaa;
const CMD_KBD_TEST = 0xab;
const CMD_KBD_DISABLE = 0xad;
const CMD_KBD_ENABLE = 0xae;
const CMD_READ_OUTPUT_PORT = 0xd0;
const CMD_WRITE_OUTPUT_PORT = 0xd1;
const CMD_WRITE_KBD_OUTPUT = 0xd2;
const CMD_WRITE_AUX_OUTPUT = 0xd3;
const CMD_WRITE_AUX = 0xd4;
/** 0xF0-0xFF pulse output port lines low; bit 0 low pulses the CPU reset. */
const CMD_PULSE_BASE = 0xf0;

const SELF_TEST_OK = 0x55;
const PORT_TEST_OK = 0x00;
const PORT_TEST_FAILED = 0xff;
const KBD_ACK = 0xfa;
const KBD_RESEND = 0xfe;
const KBD_SELF_TEST_OK = 0xaa;
const KBD_RESET = 0xff;
const KBD_IDENTIFY = 0xf2;
const KBD_ECHO = 0xee;
/** Output port with the reset line released and A20 on. */
const OUTPUT_PORT_DEFAULT = 0x03;

enum Slot { Ctr, Status, PendingCommand, OutputPort, QueueHead, QueueCount, Count }

/** Each queued byte records whether it came from the aux (mouse) port. */
const AUX_FLAG = 0x100;

export interface I8042Callbacks {
  /** The guest pulsed the reset line. */
  reset(): void;
  /** Pulse an interrupt: 1 for the keyboard, 12 for the aux port. */
  interrupt(irq: 1 | 12): void;
}

export class I8042 extends SharedRegisters implements BusDevice {
  private readonly queue: Int32Array;

  static createState(): SharedArrayBuffer {
    const buffer = SharedRegisters.allocate(Slot.Count + QUEUE_CAPACITY);
    const device = new I8042(buffer, { reset: () => {}, interrupt: () => {} });
    device.set(Slot.Ctr, CTR_KBD_INT | CTR_SYSTEM | CTR_AUX_DISABLED);
    device.set(Slot.Status, STATUS_SYSTEM | STATUS_UNLOCKED);
    device.set(Slot.OutputPort, OUTPUT_PORT_DEFAULT);
    return buffer;
  }

  constructor(buffer: SharedArrayBuffer, private readonly callbacks: I8042Callbacks) {
    super(buffer, Slot.Count + QUEUE_CAPACITY);
    this.queue = this.words.subarray(1 + Slot.Count);
  }

  read(offset: number, _size: number): number {
    return this.locked(() => {
      if (offset === COMMAND_OFFSET) return this.get(Slot.Status);
      if (offset === DATA_OFFSET) return this.popOutput();
      return 0xff;
    });
  }

  write(offset: number, _size: number, value: number): void {
    const effects = this.locked(() => {
      if (offset === COMMAND_OFFSET) return this.command(value & 0xff);
      if (offset === DATA_OFFSET) return this.data(value & 0xff);
      return NO_EFFECTS;
    });
    if (effects.interrupt) this.callbacks.interrupt(effects.interrupt);
    if (effects.reset) this.callbacks.reset();
  }

  private command(command: number): Effects {
    this.set(Slot.Status, this.get(Slot.Status) | STATUS_COMMAND);
    this.set(Slot.PendingCommand, 0);
    const ctr = this.get(Slot.Ctr);
    switch (command) {
      case CMD_READ_CTR: return this.pushOutput(ctr, false);
      case CMD_AUX_DISABLE: this.set(Slot.Ctr, ctr | CTR_AUX_DISABLED); return NO_EFFECTS;
      case CMD_AUX_ENABLE: this.set(Slot.Ctr, ctr & ~CTR_AUX_DISABLED); return NO_EFFECTS;
      case CMD_AUX_TEST: return this.pushOutput(PORT_TEST_FAILED, false);
      case CMD_SELF_TEST:
        this.set(Slot.Status, this.get(Slot.Status) | STATUS_SYSTEM);
        return this.pushOutput(SELF_TEST_OK, false);
      case CMD_KBD_TEST: return this.pushOutput(PORT_TEST_OK, false);
      case CMD_KBD_DISABLE: this.set(Slot.Ctr, ctr | CTR_KBD_DISABLED); return NO_EFFECTS;
      case CMD_KBD_ENABLE: this.set(Slot.Ctr, ctr & ~CTR_KBD_DISABLED); return NO_EFFECTS;
      case CMD_READ_OUTPUT_PORT: return this.pushOutput(this.get(Slot.OutputPort), false);
      case CMD_WRITE_CTR:
      case CMD_WRITE_OUTPUT_PORT:
      case CMD_WRITE_KBD_OUTPUT:
      case CMD_WRITE_AUX_OUTPUT:
      case CMD_WRITE_AUX:
        this.set(Slot.PendingCommand, command);
        return NO_EFFECTS;
      default:
        if (command >= CMD_PULSE_BASE && (command & 0x01) === 0) return { reset: true };
        return NO_EFFECTS;
    }
  }

  private data(value: number): Effects {
    this.set(Slot.Status, this.get(Slot.Status) & ~STATUS_COMMAND);
    const pending = this.get(Slot.PendingCommand);
    this.set(Slot.PendingCommand, 0);
    switch (pending) {
      case CMD_WRITE_CTR:
        this.set(Slot.Ctr, value);
        this.set(Slot.Status, (this.get(Slot.Status) & ~STATUS_SYSTEM) | (value & CTR_SYSTEM));
        return NO_EFFECTS;
      case CMD_WRITE_OUTPUT_PORT:
        this.set(Slot.OutputPort, value);
        return (value & 0x01) === 0 ? { reset: true } : NO_EFFECTS;
      case CMD_WRITE_KBD_OUTPUT: return this.pushOutput(value, false);
      case CMD_WRITE_AUX_OUTPUT: return this.pushOutput(value, true);
      case CMD_WRITE_AUX: return this.pushOutput(KBD_RESEND, true);
      default: return this.keyboardCommand(value);
    }
  }

  /** There is no keyboard, but Linux expects its commands acknowledged. */
  private keyboardCommand(value: number): Effects {
    if (value === KBD_ECHO) return this.pushOutput(KBD_ECHO, false);
    let effects = this.pushOutput(KBD_ACK, false);
    if (value === KBD_RESET) effects = this.pushOutput(KBD_SELF_TEST_OK, false);
    if (value === KBD_IDENTIFY) {
      this.pushOutput(0xab, false);
      effects = this.pushOutput(0x83, false);
    }
    return effects;
  }

  private pushOutput(value: number, aux: boolean): Effects {
    const count = this.get(Slot.QueueCount);
    if (count < QUEUE_CAPACITY) {
      this.queue[(this.get(Slot.QueueHead) + count) % QUEUE_CAPACITY] = value | (aux ? AUX_FLAG : 0);
      this.set(Slot.QueueCount, count + 1);
    }
    this.refreshStatus();
    const ctr = this.get(Slot.Ctr);
    if (aux) return ctr & CTR_AUX_INT ? { interrupt: 12 } : NO_EFFECTS;
    return ctr & CTR_KBD_INT ? { interrupt: 1 } : NO_EFFECTS;
  }

  private popOutput(): number {
    const count = this.get(Slot.QueueCount);
    if (count === 0) return 0;
    const head = this.get(Slot.QueueHead);
    const value = (this.queue[head] as number) & 0xff;
    this.set(Slot.QueueHead, (head + 1) % QUEUE_CAPACITY);
    this.set(Slot.QueueCount, count - 1);
    this.refreshStatus();
    return value;
  }

  private refreshStatus(): void {
    let status = this.get(Slot.Status) & ~(STATUS_OUTPUT_FULL | STATUS_AUX_DATA);
    if (this.get(Slot.QueueCount) > 0) {
      status |= STATUS_OUTPUT_FULL;
      if ((this.queue[this.get(Slot.QueueHead)] as number) & AUX_FLAG) status |= STATUS_AUX_DATA;
    }
    this.set(Slot.Status, status);
  }
}

interface Effects {
  reset?: boolean;
  interrupt?: 1 | 12;
}

const NO_EFFECTS: Effects = {};

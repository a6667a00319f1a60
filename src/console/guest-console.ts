// One guest console (the COM1 serial port or the virtio console) and its
// host side, for the life of a VM configuration: across reboots a client
// stays attached and a pty keeps its path.
//  - off: no device.  null: output discarded.  tty: tsvmm's stdout and stdin.
//  - file=PATH: output written to PATH (truncated at vm.create).
//  - pty, socket=PATH, tcp=HOST:PORT: clients attach and detach; output is
//    kept in a ring meanwhile and replayed to the next client.
// The vCPU threads write serial output straight to `outputFd`; for the
// client modes that is a pipe this console drains on the control loop.
import { closeSync, constants } from 'node:fs';
import { native, type FdWatch } from '../native.js';
import { openHostFile } from '../util/host-file.js';
import { writeAllSync } from '../util/write-all.js';
import { parseTcpConsole } from '../config/rules.js';
import type { ConsoleConfig } from '../config/schema.js';
import type { ConsoleEndpoint, EndpointContext } from './endpoint.js';
import type { InputSink } from './input-pump.js';
import { PtyEndpoint } from './pty-endpoint.js';
import { OutputRing } from './ring.js';
import { StreamEndpoint } from './stream-endpoint.js';

const STDOUT_FD = 1;
const READ_BYTES = 16 * 1024;

export class GuestConsole {
  /** Where vCPU threads write this console's output; undefined discards it. */
  readonly outputFd: number | undefined;
  private readonly ring = new OutputRing();
  private readonly buffer = new Uint8Array(READ_BYTES);
  private endpoint: ConsoleEndpoint | undefined;
  private pipe: { read: number; write: number } | undefined;
  private pipeWatch: FdWatch | undefined;
  private fileFd: number | undefined;
  private input: InputSink | undefined;

  private constructor(readonly name: string, readonly config: ConsoleConfig) {
    switch (config.mode) {
      case 'Tty':
        this.outputFd = STDOUT_FD;
        break;
      case 'File':
        this.fileFd = openFile(name, config.file ?? '');
        this.outputFd = this.fileFd;
        break;
      case 'Pty': case 'Socket': case 'Tcp':
        this.pipe = native.pipe();
        this.outputFd = this.pipe.write;
        this.pipeWatch = native.watchFd(this.pipe.read, () => this.drainPipe());
        break;
      default:
        this.outputFd = undefined;
    }
  }

  static async open(name: string, config: ConsoleConfig): Promise<GuestConsole> {
    const console = new GuestConsole(name, config);
    const context: EndpointContext = { name, ring: console.ring, input: (bytes) => console.takeInput(bytes) };
    try {
      if (config.mode === 'Pty') console.endpoint = PtyEndpoint.open(context);
      if (config.mode === 'Socket') console.endpoint = await StreamEndpoint.open({ path: config.socket ?? '' }, context);
      if (config.mode === 'Tcp') console.endpoint = await StreamEndpoint.open({ tcp: parseTcpConsole(`${name} tcp`, config.tcp ?? '') }, context);
    } catch (error) {
      await console.close();
      throw error;
    }
    return console;
  }

  /** Output produced on this thread (the virtio console's transmit queue). */
  write(bytes: Uint8Array): void {
    if (this.endpoint) {
      this.ring.append(bytes);
      this.endpoint.write(bytes);
    } else if (this.outputFd !== undefined) {
      writeAllSync(this.outputFd, bytes);
    }
  }

  private drainPipe(): void {
    for (;;) {
      const n = this.pipe ? native.readAvailable(this.pipe.read, this.buffer) : -1;
      if (n <= 0) return;
      this.write(this.buffer.subarray(0, n));
    }
  }

  /** The running VM's device takes client input from now on. */
  connectInput(sink: InputSink): void {
    this.input = sink;
  }

  disconnectInput(): void {
    this.input = undefined;
  }

  /** Client or tty input: what the device took; with no device running, input is discarded. */
  takeInput(bytes: Uint8Array): number | Promise<number> {
    return this.input ? this.input(bytes) : bytes.length;
  }

  /** The config with what the endpoint chose filled in (pty path, bound tcp port). */
  resolved(): ConsoleConfig {
    return { ...this.config, ...this.endpoint?.resolved() };
  }

  async close(): Promise<void> {
    this.drainPipe();
    if (this.pipeWatch) native.unwatchFd(this.pipeWatch);
    this.pipeWatch = undefined;
    await this.endpoint?.close();
    this.endpoint = undefined;
    if (this.pipe) {
      native.close(this.pipe.read);
      native.close(this.pipe.write);
      this.pipe = undefined;
    }
    if (this.fileFd !== undefined) closeSync(this.fileFd);
    this.fileFd = undefined;
  }
}

/** A regular file (emptied) or a character device such as /dev/null; a FIFO could block every write. */
function openFile(name: string, path: string): number {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC;
  return openHostFile(`${name} file`, path, flags, ['regular file', 'character device']).fd;
}

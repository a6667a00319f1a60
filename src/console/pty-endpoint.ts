// The `pty` console: a pseudo-terminal whose slave path (/dev/pts/N) a
// client opens with `screen`, `minicom` or `cat`. The master reports a
// hang-up while no client has the slave open; tsvmm then keeps output in
// the ring only, checks every POLL_MS for a client, and replays the ring
// when one opens the slave.
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { native, type FdWatch } from '../native.js';
import { log } from '../util/log.js';
import type { ConsoleConfig } from '../config/schema.js';
import type { ConsoleEndpoint, EndpointContext } from './endpoint.js';
import { InputPump } from './input-pump.js';

const POLL_MS = 100;
const READ_BYTES = 4096;

export class PtyEndpoint implements ConsoleEndpoint {
  private readonly buffer = new Uint8Array(READ_BYTES);
  private watch: FdWatch | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly pump: InputPump;
  private attached = false;
  private closed = false;

  private constructor(private readonly fd: number, readonly path: string, private readonly context: EndpointContext) {
    this.pump = new InputPump(context.input, { pause: () => this.stopReading(), resume: () => this.startReading() });
  }

  static open(context: EndpointContext): PtyEndpoint {
    const { fd, path } = native.openPty();
    // Opening and closing the slave once puts the master in the hung-up state
    // that means "no client", which is what the attach check looks for.
    closeSync(openSync(path, constants.O_RDWR | constants.O_NOCTTY));
    const endpoint = new PtyEndpoint(fd, path, context);
    log.info(`${context.name} console on pty ${path}`);
    endpoint.waitForClient();
    return endpoint;
  }

  private waitForClient(): void {
    this.attached = false;
    this.stopReading();
    this.timer = setInterval(() => {
      if (native.hungUp(this.fd)) return;
      clearInterval(this.timer);
      this.timer = undefined;
      this.onAttach();
    }, POLL_MS);
    this.timer.unref();
  }

  private onAttach(): void {
    this.attached = true;
    log.info(`${this.context.name} console: client opened ${this.path}`);
    this.write(this.context.ring.contents());
    this.startReading();
  }

  private startReading(): void {
    if (this.watch || !this.attached || this.closed) return;
    this.watch = native.watchFd(this.fd, () => this.drain());
  }

  private stopReading(): void {
    if (!this.watch) return;
    native.unwatchFd(this.watch);
    this.watch = undefined;
  }

  private drain(): void {
    const n = native.readAvailable(this.fd, this.buffer);
    if (n > 0) {
      this.pump.push(this.buffer.slice(0, n));
    } else if (n === 0 || native.hungUp(this.fd)) {
      log.info(`${this.context.name} console: client closed ${this.path}`);
      this.waitForClient();
    }
  }

  write(bytes: Uint8Array): void {
    if (!this.attached || bytes.length === 0) return;
    try {
      writeSync(this.fd, bytes);
    } catch {
      // EAGAIN: the client does not read; the ring still has the output.
    }
  }

  resolved(): Partial<ConsoleConfig> {
    return { file: this.path };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.stopReading();
    this.pump.close();
    native.close(this.fd);
  }
}

// A TAP interface on the host: frames the guest sends appear on it, and
// frames the host routes to it reach the guest. tsvmm creates one when no
// name is given (it disappears when the VM ends) and can give it an IPv4
// address. Reading stops while the guest has no room, so frames wait in the
// kernel's queue rather than in tsvmm.
import { writeSync } from 'node:fs';
import { isNativeError, native, type FdWatch } from '../../native.js';
import { ConfigError, errorMessage } from '../../util/errors.js';
import type { NetConfig } from '../../config/schema.js';
import type { NetBackend } from './backend.js';

const MAX_FRAME = 65536;

export class Tap implements NetBackend {
  private readonly buffer = new Uint8Array(MAX_FRAME);
  private receive: ((frame: Uint8Array) => void) | undefined;
  private watch: FdWatch | undefined;

  private constructor(private readonly fd: number, private readonly name: string) {}

  static open(id: string, config: NetConfig): Tap {
    let tap: { fd: number; name: string };
    try {
      tap = native.openTap(config.tap ?? '');
    } catch (error) {
      const code = isNativeError(error) ? error.code : String(error);
      throw new ConfigError(`net ${id}: cannot open TAP interface ${config.tap || '(new)'}: ${code}; this needs /dev/net/tun and CAP_NET_ADMIN, or a TAP set up for this user`, { cause: error });
    }
    const created = !config.tap;
    try {
      if (created || config.ip !== undefined || config.mask !== undefined) {
        native.configureInterface(tap.name, config.ip ?? '', config.mask ?? '');
      }
    } catch (error) {
      native.close(tap.fd);
      throw new ConfigError(`net ${id}: cannot configure ${tap.name}: ${errorMessage(error)}`, { cause: error });
    }
    return new Tap(tap.fd, tap.name);
  }

  start(receive: (frame: Uint8Array) => void): void {
    this.receive = receive;
    this.resumeReceive();
  }

  private drain(): void {
    // Each frame is handed over before the next read; pauseReceive() may stop the loop.
    while (this.watch && this.receive) {
      const n = native.readAvailable(this.fd, this.buffer);
      if (n <= 0) return;
      this.receive(this.buffer.subarray(0, n));
    }
  }

  send(frame: Uint8Array): boolean {
    try {
      return writeSync(this.fd, frame) === frame.length;
    } catch {
      return false; // EAGAIN or the interface went away: the device counts the drop
    }
  }

  pauseReceive(): void {
    if (!this.watch) return;
    native.unwatchFd(this.watch);
    this.watch = undefined;
  }

  resumeReceive(): void {
    if (this.watch || !this.receive) return;
    this.watch = native.watchFd(this.fd, () => this.drain());
    this.drain();
  }

  resolved(): Partial<NetConfig> {
    return { tap: this.name };
  }

  counters(): Record<string, number> {
    return {};
  }

  async close(): Promise<void> {
    this.pauseReceive();
    this.receive = undefined;
    native.close(this.fd); // the addon opened it: node:fs warns when it closes an fd it did not open
  }
}

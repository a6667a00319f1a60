// virtio-console (virtio 1.2, section 5.3) with a single port and no
// multiport: receiveq (0) carries input to the guest, transmitq (1) its
// output. Linux names it hvc0. Output goes to the console's host side as
// it arrives; input is placed in the buffers the driver has offered, and
// what does not fit waits with the console's input pump.
import { scatter } from './buffers.js';
import { serveQueue, VirtioDeviceId, type DeviceQueues, type VirtioDevice } from './device.js';

const RECEIVE_QUEUE = 0;
const TRANSMIT_QUEUE = 1;
/** cols, rows (u16 each), max_nr_ports, emerg_wr (u32 each): read by a driver only with SIZE, MULTIPORT or EMERG_WRITE. */
const CONFIG_BYTES = 12;

export class VirtioConsole implements VirtioDevice {
  readonly deviceId = VirtioDeviceId.Console;
  readonly features = 0n;
  readonly queueSizes = [256, 256];
  readonly config = new Uint8Array(CONFIG_BYTES);
  private queues: DeviceQueues | undefined;
  private readonly stats = { rx_bytes: 0, tx_bytes: 0 };

  constructor(readonly id: string, private readonly output: (bytes: Uint8Array) => void) {}

  activate(queues: DeviceQueues): void {
    this.queues = queues;
  }

  notify(queue: number): void {
    // Receive buffers wait until there is input: the input pump offers it again shortly.
    if (queue !== TRANSMIT_QUEUE || !this.queues) return;
    serveQueue(this.queues, TRANSMIT_QUEUE, (chain) => {
      for (const buffer of chain.readable) {
        this.output(Uint8Array.from(buffer));
        this.stats.tx_bytes += buffer.length;
      }
      return 0;
    });
  }

  /** Input for the guest; returns how many bytes found room in its receive buffers. */
  receive(bytes: Uint8Array): number {
    const queues = this.queues;
    let placed = 0;
    while (queues?.live && placed < bytes.length) {
      const chain = queues.pop(RECEIVE_QUEUE);
      if (!chain) break;
      const n = scatter(chain.writable, [bytes], placed);
      queues.complete(RECEIVE_QUEUE, chain.head, n);
      placed += n;
      if (n === 0) break; // a chain with no writable room: the queue code refused it already
    }
    this.stats.rx_bytes += placed;
    return placed;
  }

  counters(): Record<string, number> {
    return { ...this.stats };
  }

  reset(): void {
    this.queues = undefined;
  }

  async close(): Promise<void> {
    this.reset();
  }
}

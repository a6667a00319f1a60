// Input from a console client on its way to the guest's device, which takes
// only what its receive buffer has room for. The rest waits here and is
// offered again shortly; while anything waits, the client is paused so the
// backlog stays small and nothing typed is dropped.

const RETRY_MS = 10;

/** Hands bytes to the device; returns how many it took. */
export type InputSink = (bytes: Uint8Array) => number | Promise<number>;

export interface InputFlow {
  pause(): void;
  resume(): void;
}

export class InputPump {
  private backlog = new Uint8Array(0);
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private closed = false;

  constructor(private readonly sink: InputSink, private readonly flow: InputFlow) {}

  push(chunk: Uint8Array): void {
    if (this.closed) return;
    const merged = new Uint8Array(this.backlog.length + chunk.length);
    merged.set(this.backlog);
    merged.set(chunk, this.backlog.length);
    this.backlog = merged;
    if (!this.timer && !this.busy) void this.flush();
  }

  private async flush(): Promise<void> {
    this.timer = undefined;
    this.busy = true;
    let taken: number;
    try {
      taken = await this.sink(this.backlog);
    } catch {
      taken = this.backlog.length; // no device to take it: nothing can wait for one
    }
    this.busy = false;
    if (this.closed) return;
    this.backlog = this.backlog.subarray(taken);
    if (this.backlog.length > 0) {
      this.flow.pause();
      this.timer = setTimeout(() => void this.flush(), RETRY_MS);
    } else {
      this.flow.resume();
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

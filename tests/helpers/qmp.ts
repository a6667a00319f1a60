// A QMP client for benchmarks beside QEMU: one command at a time, like one
// keep-alive HTTP connection.
import { connect, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

export class Qmp {
  private buffer = '';
  private waiting: ((line: string) => void) | undefined;

  constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString();
      for (let newline = this.buffer.indexOf('\n'); newline >= 0; newline = this.buffer.indexOf('\n')) {
        const line = this.buffer.slice(0, newline);
        this.buffer = this.buffer.slice(newline + 1);
        if (line.includes('"return"') || line.includes('"QMP"') || line.includes('"error"')) this.waiting?.(line);
      }
    });
  }

  /** Connects to QEMU's QMP socket (retrying while QEMU starts) and negotiates capabilities. */
  static async open(socketPath: string): Promise<Qmp | undefined> {
    for (let i = 0; i < 200; i++) {
      const socket = await new Promise<Socket | undefined>((resolve) => {
        const s = connect(socketPath, () => resolve(s));
        s.on('error', () => resolve(undefined));
      });
      if (socket) {
        const qmp = new Qmp(socket);
        await qmp.next();
        await qmp.execute('qmp_capabilities');
        return qmp;
      }
      await delay(50);
    }
    return undefined;
  }

  next(): Promise<string> {
    return new Promise((resolve) => { this.waiting = resolve; });
  }

  async execute(command: string, args?: Record<string, unknown>): Promise<string> {
    const reply = this.next();
    this.socket.write(`${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`);
    return reply;
  }

  /** Polls query-migrate (QEMU's only way to tell) until the migration completed; its figures. */
  async migrationCompleted(timeoutMs: number): Promise<{ 'total-time'?: number; downtime?: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const reply = (JSON.parse(await this.execute('query-migrate')) as { return?: { status?: string; 'total-time'?: number; downtime?: number } }).return;
      if (reply?.status === 'completed') return reply;
      if (reply?.status === 'failed' || Date.now() > deadline) throw new Error(`QEMU's migration ended ${reply?.status ?? 'without a status'}`);
      await delay(5);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

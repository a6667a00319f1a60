// The receiving side of a live migration: listens for one sender, checks
// its hello (the config must be one this tsvmm can run, its files there),
// fills fresh guest memory from its memory frames and hands the VMM the
// config, the device state and the memory, which the VMM turns into a
// running VM before `confirm` tells the sender.
import { existsSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { withNetworkOverrides } from '../config/network-overrides.js';
import type { NetworkOverride, VmConfig } from '../config/schema.js';
import type { EmitEvent } from '../events/record.js';
import { parseManifest } from '../snapshot/manifest.js';
import { checkedState, snapshotConfig } from '../snapshot/snapshot.js';
import { ConfigError, errorMessage, MigrationError, VmmError } from '../util/errors.js';
import { GuestMemory } from '../vm/memory.js';
import { checkVirtioDeviceFiles } from '../vm/virtio-devices.js';
import type { VmSavedState } from '../vm/vm.js';
import { FrameReader, FrameType, parseJson, readMemoryFrame, writeJson, type Reply } from './channel.js';
import { describeEndpoint, type MigrationEndpoint } from './endpoint.js';
import { helloProblem, type Hello } from './protocol.js';

export interface IncomingVm {
  config: VmConfig;
  state: VmSavedState;
  /** Filled from the sender; the caller owns it. */
  memory: GuestMemory;
  /** performance.now() when the state frame, the sender's last, arrived: the guest is paused from then until it runs here. */
  stateArrivedAt: number;
}

/** Anything the sender sent that cannot be used is a failed migration, whatever check refused it. */
function refused(what: string, error: unknown): MigrationError {
  return error instanceof MigrationError ? error : new MigrationError(`the sender's ${what} is refused: ${errorMessage(error)}`);
}

function listen(endpoint: MigrationEndpoint): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer({ pauseOnConnect: true });
    server.once('error', (error: NodeJS.ErrnoException) => {
      const code = error.code === 'EADDRINUSE' ? 'ResourceBusy' : undefined;
      reject(new ConfigError(`receiver_url: cannot listen on ${describeEndpoint(endpoint)}: ${error.message}`, code ? { code } : {}));
    });
    const ready = (): void => resolve(server);
    if (endpoint.kind === 'unix') server.listen(endpoint.path, ready);
    else server.listen(endpoint.port, endpoint.host, ready);
  });
}

export class MigrationReceiver {
  private constructor(
    private readonly server: Server,
    private readonly endpoint: MigrationEndpoint,
    private readonly overrides: readonly NetworkOverride[],
    private socket: Socket | undefined = undefined,
  ) {}

  /** Listens at `endpoint`; a unix socket path must not exist yet. `overrides` give the incoming NICs new backends. */
  static async listen(endpoint: MigrationEndpoint, overrides: readonly NetworkOverride[] = []): Promise<MigrationReceiver> {
    if (endpoint.kind === 'unix' && existsSync(endpoint.path)) {
      throw new ConfigError(`receiver_url: ${endpoint.path} exists; remove it or pick another path`, { code: 'ResourceBusy' });
    }
    return new MigrationReceiver(await listen(endpoint), endpoint, overrides);
  }

  /** Waits for the one sender; the listener closes then (a unix socket's path is removed). */
  async accept(signal: AbortSignal): Promise<void> {
    this.socket = await new Promise<Socket>((resolve, reject) => {
      const cancel = (): void => reject(new MigrationError(`nothing was received: ${String(signal.reason)}`));
      signal.addEventListener('abort', cancel, { once: true });
      this.server.once('connection', (socket: Socket) => { signal.removeEventListener('abort', cancel); resolve(socket); });
    });
    this.closeListener();
  }

  /** Reads the whole VM; memory is freed here on failure. `accepted` learns the config as soon as the hello passed. */
  async receive(report: EmitEvent, accepted: (config: VmConfig) => void = () => {}): Promise<IncomingVm> {
    const socket = this.socket as Socket;
    const reader = new FrameReader(socket, 'sender');
    socket.resume();
    const { config, memory } = await this.takeHello(reader, socket);
    accepted(config);
    try {
      let bytes = 0;
      // The sender sends only pages with data, so the memory's size is an upper bound, not a forecast.
      const progress = (): void => report('vm', 'migration-receiving', { bytes_done: String(bytes), bytes_total: String(config.memory.size) });
      for (let frame = await reader.next(); ; frame = await reader.next()) {
        if (frame.type === FrameType.Memory) {
          const tenth = Math.floor((bytes * 10) / config.memory.size);
          bytes += this.takeMemory(memory, frame.payload);
          if (Math.floor((bytes * 10) / config.memory.size) > tenth) progress();
          continue;
        }
        if (frame.type !== FrameType.State) throw new MigrationError(`the sender sent frame type ${frame.type} among the memory frames`);
        const stateArrivedAt = performance.now();
        progress();
        return { config, state: this.takeState(frame.payload, config), memory, stateArrivedAt };
      }
    } catch (error) {
      memory.free();
      throw error;
    }
  }

  private async takeHello(reader: FrameReader, socket: Socket): Promise<{ config: VmConfig; memory: GuestMemory }> {
    const value = parseJson<Hello>(await reader.expect(FrameType.Hello), 'sender');
    let config: VmConfig;
    try {
      const problem = helloProblem(value);
      if (problem) throw new MigrationError(`the sender's hello is refused: ${problem}`);
      config = withNetworkOverrides(snapshotConfig(value.config), this.overrides);
      if (config.memory.size !== value.memory_size) throw new MigrationError(`the sender's memory_size ${value.memory_size} is not its config's ${config.memory.size}`);
      // The sender holds the disks' locks until it pauses for good.
      await checkVirtioDeviceFiles(config, false);
    } catch (error) {
      const failure = refused('config', error);
      await writeJson(socket, FrameType.Reply, { ok: false, message: failure.message } satisfies Reply).catch(() => undefined);
      throw failure;
    }
    const memory = GuestMemory.allocate(config.memory.size);
    await writeJson(socket, FrameType.Reply, { ok: true } satisfies Reply).catch((error) => { memory.free(); throw error; });
    return { config, memory };
  }

  private takeMemory(memory: GuestMemory, payload: Buffer): number {
    const { offset, bytes } = readMemoryFrame(payload, 'sender');
    try {
      memory.mappingBytes(offset, bytes.length).set(bytes);
    } catch (error) {
      throw refused('memory frame', error);
    }
    return bytes.length;
  }

  private takeState(payload: Buffer, config: VmConfig): VmSavedState {
    try {
      const manifest = parseManifest(payload.toString('utf8'));
      const checked = checkedState(manifest);
      if (JSON.stringify(withNetworkOverrides(checked.config, this.overrides)) !== JSON.stringify(config)) {
        throw new MigrationError('the state frame\'s config is not the hello\'s');
      }
      return checked.state;
    } catch (error) {
      throw refused('device state', error instanceof VmmError ? error : new MigrationError(errorMessage(error)));
    }
  }

  /** Stops listening and drops the connection: whatever waits on either fails. */
  abort(): void {
    this.closeListener();
    this.socket?.destroy();
  }

  /** Tells the sender how it ended: ok once the VM runs here, or the error. */
  async confirm(outcome: Reply): Promise<void> {
    if (!this.socket) return;
    await writeJson(this.socket, FrameType.Reply, outcome);
  }

  /** Closes everything; waits until the socket is closed. */
  async close(): Promise<void> {
    this.closeListener();
    const socket = this.socket;
    if (!socket) return;
    socket.end();
    if (!socket.closed) await new Promise((resolve) => { socket.once('close', resolve); setTimeout(() => socket.destroy(), 2000).unref(); });
  }

  private closeListener(): void {
    if (!this.server.listening) return;
    this.server.close();
    if (this.endpoint.kind === 'unix') rmSync(this.endpoint.path, { force: true });
  }
}

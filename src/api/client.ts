// A typed client for tsvmm's REST API over its UNIX socket, built on undici.
// One method per endpoint; bodies and replies are typed from the generated
// OpenAPI types; an error reply is thrown as an ApiError with its status.
import { Client, Pool } from 'undici';
import { ACTIONS, type ActionName } from '../vmm/actions.js';
import type { components, operations } from './generated/openapi-types.js';
import { API_PREFIX, EVENT_STREAM_ACTION } from './paths.js';

type Schemas = components['schemas'];
export type VmConfig = Schemas['VmConfig'];
export type VmInfo = Schemas['VmInfo'];
export type VmState = Schemas['VmState'];
export type VmCounters = Schemas['VmCounters'];
export type VmmPingResponse = Schemas['VmmPingResponse'];
export type DiskConfig = Schemas['DiskConfig'];
export type NetConfig = Schemas['NetConfig'];
export type VsockConfig = Schemas['VsockConfig'];
export type ConsoleConfig = Schemas['ConsoleConfig'];
export type VmSnapshotConfig = Schemas['VmSnapshotConfig'];
export type RestoreConfig = Schemas['RestoreConfig'];
export type VmSendMigrationConfig = Schemas['VmSendMigrationConfig'];
export type VmReceiveMigrationConfig = Schemas['VmReceiveMigrationConfig'];
export type EventRecord = Schemas['EventRecord'];

export type RequestBody<Name extends ActionName> = operations[Name] extends { requestBody: { content: { 'application/json': infer B } } } ? B : undefined;
export type ReplyBody<Name extends ActionName> = operations[Name] extends { responses: { 200: { content: { 'application/json': infer R } } } } ? R : void;

type ErrorCode = Schemas['Error']['code'];

/** An error reply of the server (or a reply that is not what the API promises: code undefined). */
export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly code?: ErrorCode, readonly causes: string[] = []) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Nothing answers where the VMM should be (no socket, no owner of the D-Bus name). */
export class VmmUnreachableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VmmUnreachableError';
  }
}

/**
 * One method per action, over whichever transport a subclass gives: REST
 * here (TsvmmClient), D-Bus in src/dbus/client.ts.
 */
export abstract class VmmClient {
  protected abstract call<Name extends ActionName>(name: Name, body?: RequestBody<Name>): Promise<ReplyBody<Name>>;

  /** Each event as it happens, until the VMM shuts down, `signal` aborts, or the caller stops iterating. */
  /** The events from now on; `opened` is called once the VMM will send every later event to this stream. */
  abstract events(signal?: AbortSignal, opened?: () => void): AsyncGenerator<EventRecord>;

  abstract close(): Promise<void>;

  ping(): Promise<VmmPingResponse> { return this.call('vmm.ping'); }
  shutdownVmm(): Promise<void> { return this.call('vmm.shutdown'); }
  create(config: VmConfig): Promise<void> { return this.call('vm.create', config); }
  boot(): Promise<void> { return this.call('vm.boot'); }
  shutdown(): Promise<void> { return this.call('vm.shutdown'); }
  reboot(): Promise<void> { return this.call('vm.reboot'); }
  pause(): Promise<void> { return this.call('vm.pause'); }
  resume(): Promise<void> { return this.call('vm.resume'); }
  delete(): Promise<void> { return this.call('vm.delete'); }
  powerButton(): Promise<void> { return this.call('vm.power-button'); }
  nmi(): Promise<void> { return this.call('vm.nmi'); }
  addDisk(disk: DiskConfig): Promise<void> { return this.call('vm.add-disk', disk); }
  addNet(net: NetConfig): Promise<void> { return this.call('vm.add-net', net); }
  addVsock(vsock: VsockConfig): Promise<void> { return this.call('vm.add-vsock', vsock); }
  snapshot(config: VmSnapshotConfig): Promise<void> { return this.call('vm.snapshot', config); }
  restore(config: RestoreConfig): Promise<void> { return this.call('vm.restore', config); }
  sendMigration(config: VmSendMigrationConfig): Promise<void> { return this.call('vm.send-migration', config); }
  receiveMigration(config: VmReceiveMigrationConfig): Promise<void> { return this.call('vm.receive-migration', config); }
  info(): Promise<VmInfo> { return this.call('vm.info'); }
  counters(): Promise<VmCounters> { return this.call('vm.counters'); }

  /** Waits for the first event that `matches`, following the events from now. */
  async waitForEvent(matches: (record: EventRecord) => boolean, signal?: AbortSignal, opened?: () => void): Promise<EventRecord> {
    for await (const record of this.events(signal, opened)) if (matches(record)) return record;
    throw new ApiError(503, 'the event stream ended before the event came');
  }
}

function errorFrom(status: number, text: string): ApiError {
  try {
    const body = JSON.parse(text) as { message?: unknown; code?: unknown; causes?: unknown };
    if (typeof body.message === 'string') {
      const code = typeof body.code === 'string' ? body.code as ErrorCode : undefined;
      return new ApiError(status, body.message, code, Array.isArray(body.causes) ? body.causes.map(String) : []);
    }
  } catch {
    // not JSON: say what came back
  }
  return new ApiError(status, `HTTP ${status}: ${text.slice(0, 200) || 'no body'}`);
}

export class TsvmmClient extends VmmClient {
  /**
   * A pool, not one connection: a request whose reply waits (vm.receive-migration
   * until its sender comes) must not hold the next requests behind it.
   */
  private readonly client: Pool;

  constructor(readonly socketPath: string) {
    super();
    this.client = new Pool('http://localhost', { socketPath });
  }

  protected async call<Name extends ActionName>(name: Name, body?: RequestBody<Name>): Promise<ReplyBody<Name>> {
    const spec: { method: 'GET' | 'PUT'; waitsForPeer?: true } = ACTIONS[name];
    const reply = await this.client.request({
      path: `${API_PREFIX}${name}`,
      method: spec.method,
      ...(spec.waitsForPeer ? { headersTimeout: 0 } : {}),
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const text = await reply.body.text();
    if (reply.statusCode >= 400) throw errorFrom(reply.statusCode, text);
    return (reply.statusCode === 204 || text === '' ? undefined : JSON.parse(text)) as ReplyBody<Name>;
  }

  /**
   * Follows GET /vmm.events: yields each event as it happens, until the VMM
   * shuts down, `signal` aborts, or the caller stops iterating. Uses its own
   * connection, so other requests are not held behind the stream.
   */
  async *events(signal?: AbortSignal, opened?: () => void): AsyncGenerator<EventRecord> {
    const stream = new Client('http://localhost', { socketPath: this.socketPath, bodyTimeout: 0 });
    try {
      const reply = await stream.request({ path: `${API_PREFIX}${EVENT_STREAM_ACTION}`, method: 'GET', signal });
      if (reply.statusCode >= 400) throw errorFrom(reply.statusCode, await reply.body.text());
      opened?.();
      let pending = '';
      for await (const chunk of reply.body) {
        pending += (chunk as Buffer).toString('utf8');
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) if (line.trim() !== '') yield JSON.parse(line) as EventRecord;
      }
    } catch (error) {
      if (signal?.aborted) return;
      throw error;
    } finally {
      await stream.destroy();
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

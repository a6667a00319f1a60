// A client of the D-Bus API (tsvmm's, or Cloud Hypervisor's for the methods
// they share) with the REST client's methods (src/api/client.ts): the same
// bodies and replies, errors as ApiError with the REST code the error name
// carries, events from the Event signal.
import { ApiError, VmmClient, VmmUnreachableError, type EventRecord, type ReplyBody, type RequestBody } from '../api/client.js';
import type { ErrorCode } from '../util/errors.js';
import type { ActionName } from '../vmm/actions.js';
import { busSocketPath, type BusKind } from './address.js';
import { DbusCallError, DbusConnection, MESSAGE_TYPE, type DbusMessage } from './connection.js';
import { dbusMethod, EVENT_SIGNAL } from './methods.js';
import { DBUS_INTERFACE, methodNameOf } from './names.js';

export interface DbusTarget {
  serviceName: string;
  objectPath: string;
  systemBus: boolean;
}

const API_ERROR_PREFIX = `${DBUS_INTERFACE}.Error.`;
/** The bus's answers when nothing owns the name. */
const UNREACHABLE_ERRORS = new Set(['org.freedesktop.DBus.Error.ServiceUnknown', 'org.freedesktop.DBus.Error.NameHasNoOwner']);
const BUS = { destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus' } as const;

function busKind(target: DbusTarget): BusKind {
  return target.systemBus ? 'system' : 'session';
}

/** Bridges signals to an async iterator: pushed records wait in a queue until taken. */
class EventQueue {
  private readonly records: EventRecord[] = [];
  private wake: (() => void) | undefined;
  ended = false;

  push(record: EventRecord): void {
    this.records.push(record);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async *drain(): AsyncGenerator<EventRecord> {
    for (;;) {
      const record = this.records.shift();
      if (record) yield record;
      else if (this.ended) return;
      else await new Promise<void>((resolve) => { this.wake = resolve; });
    }
  }
}

export class DbusVmmClient extends VmmClient {
  private constructor(private readonly connection: DbusConnection, readonly target: DbusTarget) {
    super();
  }

  static async connect(target: DbusTarget): Promise<DbusVmmClient> {
    const kind = busKind(target);
    try {
      return new DbusVmmClient(await DbusConnection.open(busSocketPath(kind)), target);
    } catch (error) {
      throw new VmmUnreachableError(`no ${kind} bus to reach ${target.serviceName} on: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  private failure(error: unknown): unknown {
    if (!(error instanceof DbusCallError)) return error;
    if (UNREACHABLE_ERRORS.has(error.errorName)) {
      return new VmmUnreachableError(`nothing owns ${this.target.serviceName} on the ${busKind(this.target)} bus`);
    }
    const text = error.message.slice(error.errorName.length + 2);
    const code = error.errorName.startsWith(API_ERROR_PREFIX) ? error.errorName.slice(API_ERROR_PREFIX.length) as ErrorCode : undefined;
    return new ApiError(0, code ? text : error.message, code);
  }

  protected async call<Name extends ActionName>(name: Name, body?: RequestBody<Name>): Promise<ReplyBody<Name>> {
    const method = dbusMethod(methodNameOf(name));
    if (!method) throw new Error(`${name} has no D-Bus method`);
    try {
      const [reply] = await this.connection.call({
        destination: this.target.serviceName, path: this.target.objectPath, interface: DBUS_INTERFACE, member: method.name,
        ...(method.input ? { signature: 's', body: [body === undefined ? '' : JSON.stringify(body)] } : {}),
      });
      return (typeof reply === 'string' && reply !== '' ? JSON.parse(reply) : undefined) as ReplyBody<Name>;
    } catch (error) {
      throw this.failure(error);
    }
  }

  private addMatch(rule: string): Promise<unknown[]> {
    return this.connection.call({ ...BUS, member: 'AddMatch', signature: 's', body: [rule] });
  }

  /** The Event signals from now on; ends when the VMM lets go of its name (it shut down), `signal` aborts, or the bus goes. */
  async *events(signal?: AbortSignal, opened?: () => void): AsyncGenerator<EventRecord> {
    const { serviceName, objectPath } = this.target;
    await this.addMatch(`type='signal',sender='${serviceName}',interface='${DBUS_INTERFACE}',member='${EVENT_SIGNAL}',path='${objectPath}'`);
    await this.addMatch(`type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged',arg0='${serviceName}'`);
    const queue = new EventQueue();
    const stop = this.connection.onMessage((message: DbusMessage) => {
      if (message.type !== MESSAGE_TYPE.signal) return;
      const [first, , newOwner] = message.body ?? [];
      if (message.member === EVENT_SIGNAL && message.interface === DBUS_INTERFACE && message.path === objectPath && typeof first === 'string') {
        queue.push(JSON.parse(first) as EventRecord);
      } else if (message.member === 'NameOwnerChanged' && first === serviceName && newOwner === '') {
        queue.end();
      }
    });
    this.connection.onClose(() => queue.end());
    signal?.addEventListener('abort', () => queue.end(), { once: true });
    opened?.();
    try {
      yield* queue.drain();
    } finally {
      stop();
    }
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}

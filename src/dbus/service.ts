// The D-Bus API: Cloud Hypervisor's org.cloudhypervisor.DBusApi1 on the
// session or system bus, a second frontend beside the REST API. Each method
// call becomes one request on the same queue to the VMM control loop (which
// checks the body, as for REST); each event becomes an Event signal.
import { readFileSync } from 'node:fs';
import { MAX_BODY_BYTES, parseBody } from '../api/server.js';
import { ConfigError, errorBodyOf, errorMessage, HostError, VmmError } from '../util/errors.js';
import { log } from '../util/log.js';
import type { ActionName } from '../vmm/actions.js';
import type { VmmHandle } from '../vmm/handle.js';
import { busSocketPath, type BusKind } from './address.js';
import { DbusConnection, MESSAGE_TYPE, type DbusMessage } from './connection.js';
import { dbusMethod, EVENT_SIGNAL, inSignature, introspectionXml, parentIntrospectionXml, type DbusMethod } from './methods.js';
import { DBUS_INTERFACE } from './names.js';

export interface DbusApiSpec {
  serviceName: string;
  objectPath: string;
  systemBus: boolean;
}

export interface DbusApi {
  readonly description: string;
  close(): Promise<void>;
}

/** Error names of the API's errors: the REST error's code under the interface's name. */
export const API_ERROR_PREFIX = `${DBUS_INTERFACE}.Error`;
const FDO_ERROR = 'org.freedesktop.DBus.Error';
const INTROSPECTABLE = 'org.freedesktop.DBus.Introspectable';
const PEER = 'org.freedesktop.DBus.Peer';
const PROPERTIES = 'org.freedesktop.DBus.Properties';
/** RequestName's flag and reply (D-Bus specification, org.freedesktop.DBus.RequestName). */
const DO_NOT_QUEUE = 4;
const PRIMARY_OWNER = 1;
/** How long closing waits for calls in flight (vmm.shutdown's own reply among them). */
const CLOSE_GRACE_MS = 1000;

/** A refusal to send as a D-Bus error. */
class DbusRefusal extends Error {
  constructor(readonly errorName: string, message: string) {
    super(message);
  }
}

function machineId(): string {
  for (const path of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      return readFileSync(path, 'utf8').trim();
    } catch {
      // try the next
    }
  }
  throw new DbusRefusal(`${FDO_ERROR}.FileNotFound`, 'this host has no machine id');
}

/** The request body a method's string argument carries: "" is no body, anything else must be JSON. */
function bodyOf(method: DbusMethod, call: DbusMessage): unknown {
  if (!method.input) return undefined;
  const text = call.body?.[0];
  if (typeof text !== 'string' || text === '') return undefined;
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw new VmmError(413, 'BodyTooLarge', `${method.name}: the JSON argument is over ${MAX_BODY_BYTES} bytes`);
  return parseBody(text);
}

function checkSignature(call: DbusMessage, expected: string, what: string): void {
  const given = call.signature ?? '';
  if (given !== expected) throw new DbusRefusal(`${FDO_ERROR}.InvalidArgs`, `${what} takes arguments "${expected}", not "${given}"`);
}

class DbusFrontend {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly connection: DbusConnection, private readonly vmm: VmmHandle, private readonly spec: DbusApiSpec) {}

  onMessage(message: DbusMessage): void {
    if (message.type !== MESSAGE_TYPE.methodCall) return;
    const answered = this.answer(message).catch((error: unknown) => this.refuse(message, error));
    this.inFlight.add(answered);
    void answered.finally(() => this.inFlight.delete(answered));
  }

  private refuse(call: DbusMessage, error: unknown): void {
    if (error instanceof DbusRefusal) {
      this.connection.replyError(call, error.errorName, error.message);
      return;
    }
    if (!(error instanceof VmmError)) log.error(`dbus: ${call.member ?? ''}: ${error instanceof Error ? error.stack : String(error)}`);
    const body = errorBodyOf(error);
    this.connection.replyError(call, `${API_ERROR_PREFIX}.${body.code}`, body.message);
  }

  private async answer(call: DbusMessage): Promise<void> {
    const member = call.member ?? '';
    if (call.path !== this.spec.objectPath) return this.answerElsewhere(call);
    switch (call.interface) {
      case INTROSPECTABLE:
        if (member !== 'Introspect') break;
        checkSignature(call, '', member);
        return this.connection.reply(call, 's', [introspectionXml()]);
      case PEER: return this.answerPeer(call);
      case PROPERTIES: return this.answerProperties(call);
      case undefined:
      case DBUS_INTERFACE: return this.answerApi(call);
      default: throw new DbusRefusal(`${FDO_ERROR}.UnknownInterface`, `no interface ${call.interface} at ${this.spec.objectPath}`);
    }
    throw new DbusRefusal(`${FDO_ERROR}.UnknownMethod`, `no method ${member} in ${call.interface ?? ''}`);
  }

  /** Parents of the served path introspect as nodes leading to it; anything else is not there. */
  private answerElsewhere(call: DbusMessage): void {
    if (call.interface === PEER) return this.answerPeer(call);
    const xml = call.interface === INTROSPECTABLE && call.member === 'Introspect' && call.path
      ? parentIntrospectionXml(this.spec.objectPath, call.path) : undefined;
    if (xml === undefined) throw new DbusRefusal(`${FDO_ERROR}.UnknownObject`, `no object at ${call.path ?? ''} (tsvmm serves ${this.spec.objectPath})`);
    this.connection.reply(call, 's', [xml]);
  }

  private answerPeer(call: DbusMessage): void {
    checkSignature(call, '', call.member ?? '');
    if (call.member === 'Ping') return this.connection.reply(call);
    if (call.member === 'GetMachineId') return this.connection.reply(call, 's', [machineId()]);
    throw new DbusRefusal(`${FDO_ERROR}.UnknownMethod`, `no method ${call.member ?? ''} in ${PEER}`);
  }

  /** The interface has no properties: GetAll answers an empty set, Get and Set refuse. */
  private answerProperties(call: DbusMessage): void {
    if (call.member === 'GetAll') {
      checkSignature(call, 's', 'GetAll');
      return this.connection.reply(call, 'a{sv}', [[]]);
    }
    if (call.member === 'Get' || call.member === 'Set') {
      throw new DbusRefusal(`${FDO_ERROR}.UnknownProperty`, `${DBUS_INTERFACE} has no properties`);
    }
    throw new DbusRefusal(`${FDO_ERROR}.UnknownMethod`, `no method ${call.member ?? ''} in ${PROPERTIES}`);
  }

  private async answerApi(call: DbusMessage): Promise<void> {
    const method = dbusMethod(call.member ?? '');
    if (!method) throw new DbusRefusal(`${FDO_ERROR}.UnknownMethod`, `no method ${call.member ?? ''} in ${DBUS_INTERFACE}`);
    checkSignature(call, inSignature(method), method.name);
    if (!method.supported) throw new VmmError(501, 'NotSupported', `${method.action} is not supported by tsvmm`);
    const result = await this.vmm.request(method.action as ActionName, bodyOf(method, call));
    if (!method.returnsString) return this.connection.reply(call);
    this.connection.reply(call, 's', [result === null || result === undefined ? '' : JSON.stringify(result)]);
  }

  /** Waits (a while) for the calls being answered, so that VmmShutdown's own reply goes out. */
  async drain(): Promise<void> {
    if (this.inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => { timer = setTimeout(resolve, CLOSE_GRACE_MS); });
    await Promise.race([Promise.allSettled([...this.inFlight]), grace]);
    clearTimeout(timer);
  }
}

async function openBus(kind: BusKind): Promise<DbusConnection> {
  const path = busSocketPath(kind);
  try {
    return await DbusConnection.open(path);
  } catch (error) {
    throw new HostError(`D-Bus: the ${kind} bus: ${errorMessage(error)}`, { cause: error });
  }
}

async function requestName(connection: DbusConnection, spec: DbusApiSpec, kind: BusKind): Promise<void> {
  let reply: unknown;
  try {
    [reply] = await connection.call({
      destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus',
      member: 'RequestName', signature: 'su', body: [spec.serviceName, DO_NOT_QUEUE],
    });
  } catch (error) {
    throw new ConfigError(`D-Bus: the ${kind} bus refused the name ${spec.serviceName}: ${errorMessage(error)}`, { code: 'ResourceBusy', cause: error });
  }
  if (reply !== PRIMARY_OWNER) {
    throw new ConfigError(`D-Bus name ${spec.serviceName} is already owned on the ${kind} bus (another tsvmm?)`, { code: 'ResourceBusy' });
  }
}

/**
 * Serves the API on the bus until closed. `onLost` is told when the bus
 * connection ends on its own (the daemon went away).
 */
export async function serveDbusApi(vmm: VmmHandle, spec: DbusApiSpec, onLost: (error?: Error) => void): Promise<DbusApi> {
  const kind: BusKind = spec.systemBus ? 'system' : 'session';
  const connection = await openBus(kind);
  let closing = false;
  try {
    await requestName(connection, spec, kind);
  } catch (error) {
    await connection.close();
    throw error;
  }
  const frontend = new DbusFrontend(connection, vmm, spec);
  connection.onMessage((message) => frontend.onMessage(message));
  const unsubscribe = vmm.events.subscribe({
    event: (record) => connection.signal(spec.objectPath, DBUS_INTERFACE, EVENT_SIGNAL, 's', [JSON.stringify(record)]),
    end: () => undefined,
  });
  connection.onClose((error) => {
    unsubscribe();
    if (!closing) onLost(error);
  });
  return {
    description: `${spec.serviceName} ${spec.objectPath} on the ${kind} bus`,
    close: async () => {
      closing = true;
      unsubscribe();
      await frontend.drain();
      await connection.close();
    },
  };
}

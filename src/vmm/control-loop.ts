// The VMM control loop: the single consumer of the request queue. It runs
// in its own worker thread, owns the Vmm (and so the VM), and handles one
// message at a time, so requests on the VM are serialised without locks.
import { parentPort, type MessagePort } from 'node:worker_threads';
import type { ErrorBody } from '../api/schema.js';
import { acceptBody } from '../config/accept.js';
import { eventRecord } from '../events/record.js';
import { ConfigError, errorBodyOf, VmmError } from '../util/errors.js';
import { configureLog, log, logStartupStep, nameLogThread } from '../util/log.js';
import { ACTIONS, type ActionName, type ActionSpec } from './actions.js';
import { Deferred } from './deferred.js';
import type { VmmMessage, VmmReply, VmmRequest, VmmWorkerData } from './messages.js';
import { Vmm } from './vmm.js';

type Task = () => Promise<void>;

/** Error replies; an error that is not a VmmError is a bug, logged with its stack. */
function toErrorBody(error: unknown): ErrorBody {
  if (!(error instanceof VmmError)) log.error(`internal error: ${error instanceof Error ? error.stack : String(error)}`);
  return errorBodyOf(error);
}

/** Every frontend's body is checked here, in one place, before the action sees it. */
async function runAction(vmm: Vmm, action: ActionName, body: unknown): Promise<unknown> {
  const spec: ActionSpec = ACTIONS[action];
  if (spec.request === undefined) {
    if (body !== undefined) throw new ConfigError(`${action} takes no request body`, { code: 'InvalidBody' });
    return spec.handler(vmm, undefined);
  }
  if (body === undefined) throw new ConfigError(`${action} needs a JSON request body`, { code: 'InvalidBody' });
  return spec.handler(vmm, acceptBody(action, spec.request, body));
}

function main(port: MessagePort, data: VmmWorkerData): void {
  configureLog(data.log);
  nameLogThread('vmm');
  logStartupStep('control loop running');
  const queue: Task[] = [];
  let draining = false;
  const post = (message: VmmMessage): void => port.postMessage(message);

  const drain = async (): Promise<void> => {
    if (draining) return;
    draining = true;
    for (let task = queue.shift(); task; task = queue.shift()) await task();
    draining = false;
  };
  const schedule = (task: Task): void => {
    queue.push(task);
    void drain();
  };
  const vmm = new Vmm({
    schedule,
    emit: (event) => post({ kind: 'event', event }),
    report: (source, event, properties) => post({ kind: 'record', record: eventRecord(source, event, properties) }),
  });

  const reply = async (id: number, work: () => Promise<unknown>): Promise<VmmReply> => {
    try {
      const body = await work();
      return { kind: 'reply', id, ok: true, body: body ?? null };
    } catch (error) {
      return { kind: 'reply', id, ok: false, error: toErrorBody(error) };
    }
  };
  const handle = async (request: VmmRequest): Promise<void> => {
    if (request.kind === 'terminal-input') {
      post(await reply(request.id, () => vmm.terminalInput(request.bytes)));
      return;
    }
    let later: Promise<unknown> | undefined;
    const now = await reply(request.id, async () => {
      const result = await runAction(vmm, request.action, request.body);
      if (result instanceof Deferred) later = result.promise;
      return result;
    });
    // A deferred reply leaves the queue free for the requests that come meanwhile.
    if (later && now.ok) void reply(request.id, () => later as Promise<unknown>).then(post);
    else post(now);
  };
  port.on('message', (request: VmmRequest) => schedule(() => handle(request)));
}

// Started before the main thread knows its settings: they are the first message.
const port = parentPort;
if (!port) throw new Error('the control loop must run in a worker thread');
port.once('message', (data: VmmWorkerData) => main(port, data));

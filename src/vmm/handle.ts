// The frontends' side of the request queue: starts the control loop's
// worker and turns each request into one message with a reply.
import type { Worker } from 'node:worker_threads';
import type { ErrorBody } from '../api/schema.js';
import { EventHub } from '../events/hub.js';
import { VmmError } from '../util/errors.js';
import { logSettings } from '../util/log.js';
import type { ActionName } from './actions.js';
import type { VmmMessage, VmmRequest, VmmWorkerData } from './messages.js';
import type { VmmEvent } from './vmm.js';
import { startControlLoopWorker } from './control-loop-worker.js';

/** An error reply of the control loop, with the status it chose. */
export class VmmRequestError extends VmmError {
  constructor(readonly body: ErrorBody) {
    super(body.status, body.code, body.message, { causes: body.causes });
  }
}

/** A request before it is numbered (Omit applied to each member of the union). */
type Unnumbered<T> = T extends unknown ? Omit<T, 'id'> : never;

type Pending = { resolve: (body: unknown) => void; reject: (error: Error) => void };

export class VmmHandle {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly listeners: Array<(event: VmmEvent) => void> = [];
  /** Every event of the VMM and its VM, for the event monitor and the event stream. */
  readonly events = new EventHub();

  /** `worker`: one started early (bin/tsvmm.ts), still waiting for its VmmWorkerData. */
  constructor(worker: Worker = startControlLoopWorker()) {
    const data: VmmWorkerData = { log: logSettings() };
    this.worker = worker;
    this.worker.postMessage(data);
    this.worker.on('message', (message: VmmMessage) => this.onMessage(message));
    this.worker.on('error', (error) => this.failAll(error));
    this.worker.on('exit', (code) => this.failAll(new Error(`the VMM control loop exited (${code})`)));
  }

  private onMessage(message: VmmMessage): void {
    if (message.kind === 'event') {
      for (const listener of this.listeners) listener(message.event);
      return;
    }
    if (message.kind === 'record') {
      this.events.publish(message.record);
      return;
    }
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    if (message.ok) pending.resolve(message.body);
    else pending.reject(new VmmRequestError(message.error));
  }

  private failAll(error: Error): void {
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }

  private send(request: Unnumbered<VmmRequest>): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id });
    });
  }

  /** Runs an action on the control loop; rejects with VmmRequestError. */
  request(action: ActionName, body?: unknown): Promise<unknown> {
    return this.send({ kind: 'action', action, body });
  }

  /** Hands tsvmm's terminal input to the tty-mode console; resolves with how many bytes it took. */
  async terminalInput(bytes: Uint8Array): Promise<number> {
    return (await this.send({ kind: 'terminal-input', bytes })) as number;
  }

  onEvent(listener: (event: VmmEvent) => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

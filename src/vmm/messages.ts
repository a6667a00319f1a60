// What frontends and the VMM control loop say to each other. A request is
// one message carrying an id; the reply carries the same id.
import type { ErrorBody } from '../api/schema.js';
import type { EventRecord } from '../events/record.js';
import type { LogSettings } from '../util/log.js';
import type { ActionName } from './actions.js';
import type { VmmEvent } from './vmm.js';

export type VmmRequest =
  | { kind: 'action'; id: number; action: ActionName; body: unknown }
  | { kind: 'terminal-input'; id: number; bytes: Uint8Array };

export type VmmReply =
  | { kind: 'reply'; id: number; ok: true; body: unknown }
  | { kind: 'reply'; id: number; ok: false; error: ErrorBody };

export type VmmMessage = VmmReply | { kind: 'event'; event: VmmEvent } | { kind: 'record'; record: EventRecord };

export interface VmmWorkerData {
  log: LogSettings;
}

// One event of the VMM or its VM, in Cloud Hypervisor's shape: a timestamp
// since the VMM started, a source, an event name and optional properties.
// Every thread stamps its own events; process.uptime() is process-wide.

import type { EventRecordBody } from '../api/schema.js';

export type EventRecord = EventRecordBody;
export type EventSource = EventRecord['source'];

export function eventRecord(source: EventSource, event: string, properties?: Record<string, string>): EventRecord {
  const uptime = process.uptime();
  const secs = Math.floor(uptime);
  return {
    timestamp: { secs, nanos: Math.min(999_999_999, Math.round((uptime - secs) * 1e9)) },
    source,
    event,
    properties: properties ?? null,
  };
}

/** One line of newline-delimited JSON, as the event-monitor file and the event stream carry it. */
export function eventLine(record: EventRecord): string {
  return `${JSON.stringify(record)}\n`;
}

/** A listener of events: called for each, in order, and told when no more will come. */
export interface EventSink {
  event(record: EventRecord): void;
  end(): void;
}

/** How the VMM's parts report events; the control loop stamps and forwards them. */
export type EmitEvent = (source: EventSource, event: string, properties?: Record<string, string>) => void;

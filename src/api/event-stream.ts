// GET /api/v1/vmm.events: the VMM's events as they happen, one JSON line
// each, over a chunked response that stays open until the VMM shuts down.
// A listener that does not read is dropped once MAX_UNREAD_BYTES wait for
// it, with a last line saying why, so it never holds the VMM back.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventHub } from '../events/hub.js';
import { eventLine, eventRecord } from '../events/record.js';
import { log } from '../util/log.js';

export const MAX_UNREAD_BYTES = 256 * 1024;
/** A dropped listener's connection is cut this long after its last line, read or not. */
const DROP_GRACE_MS = 60_000;

export function streamEvents(hub: EventHub, request: IncomingMessage, response: ServerResponse): void {
  request.resume();
  response.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-store' });
  response.flushHeaders();
  const unsubscribe = hub.subscribe({
    event: (record) => {
      if (response.writableLength <= MAX_UNREAD_BYTES) {
        response.write(eventLine(record));
        return;
      }
      unsubscribe();
      log.warn(`event stream: a listener left ${response.writableLength} bytes unread; dropping it`);
      const message = `this listener left over ${MAX_UNREAD_BYTES} bytes of events unread and was dropped`;
      response.end(eventLine(eventRecord('vmm', 'error', { message })));
      setTimeout(() => response.destroy(), DROP_GRACE_MS).unref();
    },
    end: () => response.end(),
  });
  response.on('close', unsubscribe);
}

// `--event-monitor path=P` or `fd=N`: every event is appended to a file (or
// an inherited descriptor) as one JSON line, written synchronously when the
// event happens, so a reader following the file sees it at once.
import { closeSync, openSync } from 'node:fs';
import { ConfigError, errnoOf, errorMessage } from '../util/errors.js';
import { log } from '../util/log.js';
import { writeAllSync } from '../util/write-all.js';
import { parsePathOrFd, type PathOrFd } from '../config/option-string.js';
import { eventLine, type EventRecord } from './record.js';

export type EventMonitorSpec = PathOrFd;

/** `--event-monitor path=/tmp/events.json`, `fd=3`, or a bare path. */
export function parseEventMonitor(text: string): EventMonitorSpec {
  return parsePathOrFd('--event-monitor', text);
}

export class EventMonitorFile {
  private failed = false;

  private constructor(private readonly fd: number, private readonly owned: boolean, private readonly name: string) {}

  /** Opens (truncating) the file, or adopts the descriptor. */
  static open(spec: EventMonitorSpec): EventMonitorFile {
    if ('fd' in spec) return new EventMonitorFile(spec.fd, false, `fd ${spec.fd}`);
    try {
      return new EventMonitorFile(openSync(spec.path, 'w', 0o600), true, spec.path);
    } catch (error) {
      throw new ConfigError(`--event-monitor: cannot open ${spec.path}: ${errnoOf(error)}`, { code: 'HostFileRejected', cause: error });
    }
  }

  write(record: EventRecord): void {
    if (this.failed) return;
    try {
      writeAllSync(this.fd, Buffer.from(eventLine(record)));
    } catch (error) {
      // A reader that went away must not take the VMM down; say so once.
      this.failed = true;
      log.warn(`event monitor ${this.name}: ${errorMessage(error)}; no more events are written there`);
    }
  }

  close(): void {
    if (this.owned) closeSync(this.fd);
  }
}

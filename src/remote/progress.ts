// Progress of a long request (snapshot, restore, migration) shown while it
// runs, from the VMM's events: a bar on stderr when it is a terminal, else
// one line per progress event, as a log wants it.
import { ApiError, type EventRecord, type VmmClient } from '../api/client.js';

const BAR_WIDTH = 30;

function describe(event: string, record: EventRecord): string | undefined {
  const done = Number(record.properties?.bytes_done);
  const total = Number(record.properties?.bytes_total);
  if (!Number.isFinite(done) || !Number.isFinite(total) || total <= 0) return undefined;
  const percent = Math.min(100, Math.floor((done * 100) / total));
  const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
  const round = record.properties?.round === undefined ? '' : `, round ${record.properties.round}`;
  return `${event} ${percent}% (${mib(done)} of ${mib(total)} MiB${round})`;
}

function bar(line: string, record: EventRecord): string {
  const done = Number(record.properties?.bytes_done);
  const total = Number(record.properties?.bytes_total);
  const filled = Math.min(BAR_WIDTH, Math.round((done / total) * BAR_WIDTH));
  return `\r[${'#'.repeat(filled)}${' '.repeat(BAR_WIDTH - filled)}] ${line}`;
}

/** The events that end a request whose reply comes before its work is done (vm.send-migration). */
export interface Outcome {
  done: string;
  failed: string;
}

/**
 * Runs `request` while printing the `event` progress events the VMM reports
 * meanwhile; with `outcome`, waits after the reply for its done event, and
 * fails with the message of its failed event.
 */
export async function withProgress(client: VmmClient, event: string, request: () => Promise<void>, outcome?: Outcome): Promise<void> {
  const abort = new AbortController();
  const terminal = process.stderr.isTTY === true;
  let shown = false;
  let opened!: () => void;
  const open = new Promise<void>((resolve) => { opened = resolve; });
  let ending: EventRecord | undefined;
  const following = (async () => {
    for await (const record of client.events(abort.signal, opened)) {
      if (record.source !== 'vm') continue;
      if (outcome && (record.event === outcome.done || record.event === outcome.failed)) {
        ending = record;
        return;
      }
      const line = record.event === event ? describe(event, record) : undefined;
      if (line === undefined) continue;
      process.stderr.write(terminal ? bar(line, record) : `${line}\n`);
      shown = true;
    }
  })().catch(() => undefined);
  try {
    await Promise.race([open, following]);
    await request();
    if (!outcome) return;
    await following;
    if (!ending) throw new ApiError(503, 'the event stream ended before the outcome came');
    if (ending.event === outcome.failed) throw new ApiError(500, `${outcome.failed}: ${String(ending.properties?.message ?? 'no reason given')}`);
  } finally {
    abort.abort();
    await following;
    if (shown && terminal) process.stderr.write('\n');
  }
}

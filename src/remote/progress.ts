// Progress of a long request (snapshot, restore) shown while it runs, from
// the VMM's events: a bar on stderr when it is a terminal, else one line per
// progress event, as a log wants it.
import type { EventRecord, VmmClient } from '../api/client.js';

const BAR_WIDTH = 30;

function describe(event: string, record: EventRecord): string | undefined {
  const done = Number(record.properties?.bytes_done);
  const total = Number(record.properties?.bytes_total);
  if (!Number.isFinite(done) || !Number.isFinite(total) || total <= 0) return undefined;
  const percent = Math.floor((done * 100) / total);
  const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
  return `${event} ${percent}% (${mib(done)} of ${mib(total)} MiB)`;
}

function bar(line: string, record: EventRecord): string {
  const done = Number(record.properties?.bytes_done);
  const total = Number(record.properties?.bytes_total);
  const filled = Math.round((done / total) * BAR_WIDTH);
  return `\r[${'#'.repeat(filled)}${' '.repeat(BAR_WIDTH - filled)}] ${line}`;
}

/** Runs `request` while printing the `event` progress events the VMM reports meanwhile. */
export async function withProgress(client: VmmClient, event: string, request: () => Promise<void>): Promise<void> {
  const abort = new AbortController();
  const terminal = process.stderr.isTTY === true;
  let shown = false;
  const following = (async () => {
    for await (const record of client.events(abort.signal)) {
      if (record.source !== 'vm' || record.event !== event) continue;
      const line = describe(event, record);
      if (line === undefined) continue;
      process.stderr.write(terminal ? bar(line, record) : `${line}\n`);
      shown = true;
    }
  })().catch(() => undefined);
  try {
    await request();
  } finally {
    abort.abort();
    await following;
    if (shown && terminal) process.stderr.write('\n');
  }
}

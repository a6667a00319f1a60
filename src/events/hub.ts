// The main thread's fan-out of events: every event of the VMM reaches the
// event-monitor file and each live listener, in the order it happened.
import type { EventRecord, EventSink } from './record.js';

export class EventHub {
  private readonly sinks = new Set<EventSink>();

  publish(record: EventRecord): void {
    for (const sink of this.sinks) sink.event(record);
  }

  /** Adds a sink; returns the function that removes it. */
  subscribe(sink: EventSink): () => void {
    this.sinks.add(sink);
    return () => this.sinks.delete(sink);
  }

  /** No more events: every sink is told and removed. */
  end(): void {
    const sinks = [...this.sinks];
    this.sinks.clear();
    for (const sink of sinks) sink.end();
  }
}

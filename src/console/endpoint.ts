// What a console mode plugs into: the host side that clients attach to.
import type { ConsoleConfig } from '../config/schema.js';
import type { InputSink } from './input-pump.js';
import type { OutputRing } from './ring.js';

export interface ConsoleEndpoint {
  /** Live output for the attached client, if any; the ring keeps it for the next one. */
  write(bytes: Uint8Array): void;
  /** What the endpoint chose (a pty path, a bound port), for vm.info. */
  resolved(): Partial<ConsoleConfig>;
  close(): Promise<void>;
}

export interface EndpointContext {
  /** Which console, for messages: "serial" or "console". */
  name: string;
  ring: OutputRing;
  /** Where a client's input goes. */
  input: InputSink;
}

// Where the session or system bus is: its address (D-Bus specification,
// "Server Addresses") turned into a UNIX socket path Node can connect to.
// Abstract sockets (unix:abstract=, what older dbus-daemons listen on) are
// paths with a leading NUL in Node, so no native module is needed.
import { ConfigError } from '../util/errors.js';

export type BusKind = 'session' | 'system';

const SYSTEM_BUS_DEFAULT = 'unix:path=/var/run/dbus/system_bus_socket';

function unescapeValue(value: string): string {
  return value.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** The socket of the first unix: entry of an address list such as "unix:path=/run/user/0/bus,guid=...;tcp:...". */
export function socketPathOf(address: string): string | undefined {
  for (const entry of address.split(';')) {
    const colon = entry.indexOf(':');
    if (colon < 0 || entry.slice(0, colon) !== 'unix') continue;
    const keys = new Map(entry.slice(colon + 1).split(',').map((pair) => {
      const equals = pair.indexOf('=');
      return [pair.slice(0, equals), unescapeValue(pair.slice(equals + 1))] as const;
    }));
    const path = keys.get('path');
    if (path) return path;
    const abstract = keys.get('abstract');
    if (abstract) return `\0${abstract}`;
  }
  return undefined;
}

/** The bus's socket, from DBUS_SESSION_BUS_ADDRESS or DBUS_SYSTEM_BUS_ADDRESS (the system bus has a default). */
export function busSocketPath(kind: BusKind, env: NodeJS.ProcessEnv = process.env): string {
  const variable = kind === 'session' ? 'DBUS_SESSION_BUS_ADDRESS' : 'DBUS_SYSTEM_BUS_ADDRESS';
  const address = env[variable] || (kind === 'system' ? SYSTEM_BUS_DEFAULT : undefined);
  if (!address) throw new ConfigError(`no session bus: ${variable} is not set (or give --dbus-system-bus)`);
  const path = socketPathOf(address);
  if (!path) throw new ConfigError(`${variable}="${address}" has no unix:path= or unix:abstract= entry (the only kinds tsvmm connects to)`);
  return path;
}

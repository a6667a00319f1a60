// Where a migration goes: Cloud Hypervisor's `unix:/path` and
// `tcp:host:port` URLs, as options for net.connect and net.Server.listen.
import { isAbsolute } from 'node:path';
import { ConfigError } from '../util/errors.js';

export type MigrationEndpoint =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp'; host: string; port: number };

/** Parses `url`; a bad one is a ConfigError naming `field`. */
export function parseEndpoint(field: string, url: string): MigrationEndpoint {
  if (url.startsWith('unix:')) {
    const path = url.slice('unix:'.length);
    if (!isAbsolute(path)) throw new ConfigError(`${field} ${JSON.stringify(url)}: a unix: URL needs an absolute socket path`);
    return { kind: 'unix', path };
  }
  if (url.startsWith('tcp:')) {
    const rest = url.slice('tcp:'.length);
    const colon = rest.lastIndexOf(':');
    const host = rest.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
    const port = Number(rest.slice(colon + 1));
    if (colon <= 0 || host === '' || !/^\d+$/.test(rest.slice(colon + 1)) || port > 65535) {
      throw new ConfigError(`${field} ${JSON.stringify(url)}: a tcp: URL is tcp:HOST:PORT with a port up to 65535`);
    }
    return { kind: 'tcp', host, port };
  }
  throw new ConfigError(`${field} ${JSON.stringify(url)} is neither unix:/PATH nor tcp:HOST:PORT`);
}

export function describeEndpoint(endpoint: MigrationEndpoint): string {
  return endpoint.kind === 'unix' ? `unix:${endpoint.path}` : `tcp:${endpoint.host}:${endpoint.port}`;
}

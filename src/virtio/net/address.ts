// The addresses a NIC's configuration names: MAC addresses, IPv4 addresses
// for TAP interfaces, and host:port endpoints for the UDP tunnel. Each
// parser throws a ConfigError that names the field.
import { randomBytes } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { ConfigError } from '../../util/errors.js';

export interface Endpoint {
  host: string;
  port: number;
  family: 4 | 6;
}

/** "192.0.2.1:4000" or "[2001:db8::1]:4000"; IP literals only, so nothing is resolved. */
export function parseEndpoint(field: string, text: string): Endpoint {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new ConfigError(`${field}: "${text}" is not HOST:PORT (an IPv4 address, or [IPv6], and a port)`);
  const v6 = match[1];
  const v4 = match[2];
  if (v6 !== undefined && isIPv6(v6)) return { host: v6, port, family: 6 };
  if (v4 !== undefined && isIPv4(v4)) return { host: v4, port, family: 4 };
  throw new ConfigError(`${field}: "${text}" does not name an IP address (host names are not resolved)`);
}

export function formatEndpoint({ host, port, family }: Endpoint): string {
  return family === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** "52:54:00:12:34:56" -> its 6 bytes; multicast addresses are refused. */
export function parseMac(field: string, text: string): Uint8Array {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(text)) throw new ConfigError(`${field}: "${text}" is not a MAC address like 52:54:00:12:34:56`);
  const bytes = Uint8Array.from(text.split(':'), (part) => parseInt(part, 16));
  if ((bytes[0] as number) & 1) throw new ConfigError(`${field}: ${text} is a multicast address`);
  return bytes;
}

/** A random unicast, locally administered address. */
export function randomMac(): string {
  const bytes = randomBytes(6);
  bytes[0] = ((bytes[0] as number) & 0xfc) | 0x02;
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function checkIPv4(field: string, text: string): void {
  if (!isIPv4(text)) throw new ConfigError(`${field}: "${text}" is not an IPv4 address`);
}

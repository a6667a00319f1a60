// Cloud Hypervisor's option-string grammar: `key=value,key=value`, where a
// value may be wrapped in double quotes or square brackets to contain commas.
// Sizes take K/M/G suffixes (powers of 1024).
import { ConfigError } from '../util/errors.js';

export type OptionValues = Map<string, string>;

/** Splits on commas that are outside quotes and brackets. */
export function splitTopLevel(input: string, option: string): string[] {
  const parts: string[] = [];
  let current = '';
  let depth = 0;
  let quoted = false;
  for (const char of input) {
    if (char === '"') quoted = !quoted;
    else if (!quoted && char === '[') depth++;
    else if (!quoted && char === ']') depth--;
    if (depth < 0) throw new ConfigError(`${option}: unbalanced ']' in "${input}"`);
    if (char === ',' && !quoted && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  if (quoted) throw new ConfigError(`${option}: unterminated quote in "${input}"`);
  if (depth !== 0) throw new ConfigError(`${option}: unbalanced '[' in "${input}"`);
  parts.push(current);
  return parts;
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

/**
 * Parses `input` for the flag `option` (named in messages) as Cloud
 * Hypervisor does: `key=value` for `keys`, bare words for `valueless`
 * (their value is ''), a later key wins, and an empty value means unset.
 */
export function parseOptionString(
  option: string,
  input: string,
  keys: readonly string[],
  valueless: readonly string[] = [],
): OptionValues {
  const values: OptionValues = new Map();
  if (input.trim() === '') return values;
  for (const part of splitTopLevel(input.trim(), option)) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    if (valueless.includes(key)) {
      values.set(key, '');
      continue;
    }
    if (!keys.includes(key)) {
      throw new ConfigError(`${option}: unknown key "${key}" (valid keys: ${[...keys, ...valueless].join(', ')})`);
    }
    if (eq < 0) throw new ConfigError(`${option}: expected key=value, got "${part}"`);
    const value = unquote(part.slice(eq + 1).trim());
    if (value === '') values.delete(key);
    else values.set(key, value);
  }
  return values;
}

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** "512M" -> 536870912. Plain numbers are bytes. */
export function parseSize(option: string, key: string, text: string): number {
  const match = /^(\d+)([KMGT]?)$/i.exec(text.trim());
  if (!match) throw new ConfigError(`${option}: ${key}="${text}" is not a size (use bytes or K/M/G/T)`);
  const bytes = Number(match[1]) * (SIZE_UNITS[(match[2] ?? '').toUpperCase()] ?? 1);
  if (!Number.isSafeInteger(bytes)) throw new ConfigError(`${option}: ${key}="${text}" is too large`);
  return bytes;
}

/** A decimal or 0x-prefixed hexadecimal whole number within [min, max]. */
export function parseInteger(option: string, key: string, text: string, min: number, max: number): number {
  if (!/^(\d+|0x[0-9a-f]+)$/i.test(text.trim())) throw new ConfigError(`${option}: ${key}="${text}" is not a whole number`);
  const value = Number(text.trim());
  if (value < min || value > max) {
    throw new ConfigError(`${option}: ${key}=${value} is out of range (${min} to ${max})`);
  }
  return value;
}

/** Cloud Hypervisor's toggles: on, off, true or false, in any case. */
export function parseOnOff(option: string, key: string, text: string): boolean {
  const word = text.toLowerCase();
  if (word === 'on' || word === 'true') return true;
  if (word === 'off' || word === 'false') return false;
  throw new ConfigError(`${option}: ${key}="${text}" must be on or off`);
}

export type PathOrFd = { path: string } | { fd: number };

/** `path=P`, `fd=N` or a bare path: where a socket or a file is (--api-socket, --event-monitor). */
export function parsePathOrFd(option: string, text: string): PathOrFd {
  if (!text.includes('=')) {
    if (text === '') throw new ConfigError(`${option}: give path=PATH or fd=N`);
    return { path: text };
  }
  const values = parseOptionString(option, text, ['path', 'fd']);
  const path = values.get('path');
  const fd = values.get('fd');
  if ((path === undefined) === (fd === undefined)) throw new ConfigError(`${option}: give exactly one of path= or fd=`);
  if (path !== undefined) return { path };
  return { fd: parseInteger(option, 'fd', fd as string, 0, 65535) };
}

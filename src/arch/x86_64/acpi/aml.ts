// An encoder for the small part of ACPI Machine Language (ACPI 6.5,
// chapter 20) the DSDT needs: names, scopes, devices, methods, packages,
// buffers, integers, strings, If/LEqual/Notify, and resource templates.
// Each function returns the encoded bytes of one term.

export type Aml = Uint8Array;

const Op = {
  Zero: 0x00, One: 0x01, Name: 0x08, BytePrefix: 0x0a, WordPrefix: 0x0b, DWordPrefix: 0x0c, StringPrefix: 0x0d,
  QWordPrefix: 0x0e, Scope: 0x10, Buffer: 0x11, Package: 0x12, Method: 0x14, DualNamePrefix: 0x2e,
  MultiNamePrefix: 0x2f, ExtPrefix: 0x5b, RootChar: 0x5c, ParentPrefix: 0x5e, Arg0: 0x68, Notify: 0x86,
  LEqual: 0x93, If: 0xa0, Return: 0xa4, Ones: 0xff,
} as const;
const ExtOp = { Device: 0x82 } as const;

export function concat(parts: Aml[]): Aml {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** PkgLength (20.2.4): the length of what follows plus its own bytes, in 1 to 4 bytes. */
export function pkgLength(payload: number): Aml {
  if (payload + 1 < 0x40) return Uint8Array.of(payload + 1);
  for (let extra = 1; extra <= 3; extra++) {
    const total = payload + 1 + extra;
    if (total < 2 ** (4 + 8 * extra)) {
      const bytes = [(extra << 6) | (total & 0x0f)];
      for (let i = 0; i < extra; i++) bytes.push((total >> (4 + 8 * i)) & 0xff);
      return Uint8Array.from(bytes);
    }
  }
  throw new RangeError(`AML package of ${payload} bytes is too long`);
}

function withLength(op: number[], body: Aml): Aml {
  return concat([Uint8Array.from(op), pkgLength(body.length), body]);
}

function nameSeg(segment: string): Aml {
  if (!/^[A-Z_][A-Z0-9_]{0,3}$/.test(segment)) throw new Error(`bad AML name segment "${segment}"`);
  return new TextEncoder().encode(segment.padEnd(4, '_'));
}

/** A NameString: "\\_SB_.PWRB", "^FOO", "_HID". */
export function nameString(path: string): Aml {
  let rest = path;
  const prefix: number[] = [];
  if (rest.startsWith('\\')) {
    prefix.push(Op.RootChar);
    rest = rest.slice(1);
  }
  while (rest.startsWith('^')) {
    prefix.push(Op.ParentPrefix);
    rest = rest.slice(1);
  }
  const segments = rest === '' ? [] : rest.split('.').map(nameSeg);
  if (segments.length === 0) return Uint8Array.from([...prefix, Op.Zero]);
  if (segments.length === 1) return concat([Uint8Array.from(prefix), ...segments]);
  if (segments.length === 2) return concat([Uint8Array.from([...prefix, Op.DualNamePrefix]), ...segments]);
  return concat([Uint8Array.from([...prefix, Op.MultiNamePrefix, segments.length]), ...segments]);
}

/** The shortest integer encoding: Zero, One, Ones, or a prefixed 1, 2, 4 or 8 bytes. */
export function integer(value: number | bigint): Aml {
  const n = BigInt(value);
  if (n < 0n || n > 0xffff_ffff_ffff_ffffn) throw new RangeError(`AML integer ${n} out of range`);
  if (n === 0n) return Uint8Array.of(Op.Zero);
  if (n === 1n) return Uint8Array.of(Op.One);
  const sizes: Array<[number, number]> = [[1, Op.BytePrefix], [2, Op.WordPrefix], [4, Op.DWordPrefix], [8, Op.QWordPrefix]];
  for (const [bytes, prefix] of sizes) {
    if (n < 1n << BigInt(8 * bytes)) {
      const out = new Uint8Array(1 + bytes);
      out[0] = prefix;
      for (let i = 0; i < bytes; i++) out[1 + i] = Number((n >> BigInt(8 * i)) & 0xffn);
      return out;
    }
  }
  return Uint8Array.of(Op.Ones);
}

export function string(text: string): Aml {
  if (!/^[\x01-\x7f]*$/.test(text)) throw new Error('AML strings are ASCII without NUL');
  return concat([Uint8Array.of(Op.StringPrefix), new TextEncoder().encode(text), Uint8Array.of(0)]);
}

export function name(path: string, value: Aml): Aml {
  return concat([Uint8Array.of(Op.Name), nameString(path), value]);
}

export function scope(path: string, terms: Aml[]): Aml {
  return withLength([Op.Scope], concat([nameString(path), ...terms]));
}

export function device(path: string, terms: Aml[]): Aml {
  return withLength([Op.ExtPrefix, ExtOp.Device], concat([nameString(path), ...terms]));
}

export function method(path: string, argumentCount: number, serialized: boolean, terms: Aml[]): Aml {
  if (argumentCount < 0 || argumentCount > 7) throw new RangeError('AML methods take 0 to 7 arguments');
  const flags = argumentCount | (serialized ? 0x08 : 0);
  return withLength([Op.Method], concat([nameString(path), Uint8Array.of(flags), ...terms]));
}

export function packageOf(elements: Aml[]): Aml {
  if (elements.length > 255) throw new RangeError('AML packages hold at most 255 elements');
  return withLength([Op.Package], concat([Uint8Array.of(elements.length), ...elements]));
}

export function buffer(bytes: Uint8Array): Aml {
  return withLength([Op.Buffer], concat([integer(bytes.length), bytes]));
}

export const arg0: Aml = Uint8Array.of(Op.Arg0);

export function ifThen(predicate: Aml, terms: Aml[]): Aml {
  return withLength([Op.If], concat([predicate, ...terms]));
}

export function lEqual(left: Aml, right: Aml): Aml {
  return concat([Uint8Array.of(Op.LEqual), left, right]);
}

export function notify(path: string, value: number): Aml {
  return concat([Uint8Array.of(Op.Notify), nameString(path), integer(value)]);
}

export function returnValue(value: Aml): Aml {
  return concat([Uint8Array.of(Op.Return), value]);
}

// Resource descriptors (6.4), for ResourceTemplate buffers.

/** Memory32Fixed: a fixed 32-bit memory range. */
export function memory32Fixed(base: number, length: number, writable = true): Aml {
  const out = new Uint8Array(12);
  const view = new DataView(out.buffer);
  out[0] = 0x86;
  view.setUint16(1, 9, true);
  out[3] = writable ? 1 : 0;
  view.setUint32(4, base, true);
  view.setUint32(8, length, true);
  return out;
}

export interface InterruptOptions {
  edge: boolean;
  activeLow: boolean;
  shared: boolean;
}

/** Extended Interrupt: one GSI, consumed by the device. */
export function extendedInterrupt(gsi: number, { edge, activeLow, shared }: InterruptOptions): Aml {
  const out = new Uint8Array(9);
  const view = new DataView(out.buffer);
  out[0] = 0x89;
  view.setUint16(1, 6, true);
  out[3] = 0x01 | (edge ? 0x02 : 0) | (activeLow ? 0x04 : 0) | (shared ? 0x08 : 0);
  out[4] = 1;
  view.setUint32(5, gsi, true);
  return out;
}

/** I/O port range with 16-bit decode. */
export function ioPorts(base: number, length: number): Aml {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  out[0] = 0x47;
  out[1] = 0x01;
  view.setUint16(2, base, true);
  view.setUint16(4, base, true);
  out[6] = 1;
  out[7] = length;
  return out;
}

/** IRQNoFlags: one ISA IRQ (edge, active high). */
export function isaIrq(irq: number): Aml {
  return Uint8Array.of(0x22, (1 << irq) & 0xff, (1 << irq) >> 8);
}

/** ResourceTemplate: the descriptors and an end tag, as a Buffer. */
export function resourceTemplate(descriptors: Aml[]): Aml {
  return buffer(concat([...descriptors, Uint8Array.of(0x79, 0)]));
}

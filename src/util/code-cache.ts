// Loads a bundled CommonJS file through V8's code cache. Compiling the VMM's
// bundles is a good part of its start-up (above all where Node runs under
// emulation); with the cache beside the bundle V8 reads the bytecode instead
// of parsing and compiling again. scripts/bundle.mjs writes each cache at
// build time, after running the bundle's top level once so that the functions
// start-up calls are in it. A cache V8 refuses (another Node, other V8 flags,
// a changed bundle) costs nothing but the compile it would have saved.
//
// A cache file is the CRC-32 of the bundle it was made from (4 bytes, little
// endian), then V8's data. V8 checks a cache against the source's length
// only, so a bundle edited to the same length would otherwise run the old
// bytecode.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';
import * as zlib from 'node:zlib';

type CommonJsWrapper = (exports: object, require: NodeJS.Require, module: { exports: object }, filename: string, dirname: string) => void;

// One line, as Node's own wrapper is, so that line numbers in stack traces stay the bundle's.
const WRAPPER_HEAD = '(function (exports, require, module, __filename, __dirname) { ';
const WRAPPER_TAIL = '\n})';

export function codeCachePath(bundle: string): string {
  return `${bundle}.cache`;
}

const CHECKSUM_BYTES = 4;

/** zlib.crc32 came with Node 20.15; an older Node runs the bundles without their caches. */
const crc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

/** The bundle's text, and V8's cache for it if there is one made from these very bytes. */
function readBundle(bundle: string): { source: string; cachedData?: Buffer } {
  const bytes = readFileSync(bundle);
  const source = bytes.toString('utf8');
  let cache: Buffer;
  try {
    cache = readFileSync(codeCachePath(bundle));
  } catch {
    return { source };
  }
  if (!crc32 || cache.length <= CHECKSUM_BYTES || cache.readUInt32LE(0) !== crc32(bytes)) return { source };
  return { source, cachedData: cache.subarray(CHECKSUM_BYTES) };
}

export function compileBundle(bundle: string, source: string, cachedData?: Buffer): Script {
  return new Script(WRAPPER_HEAD + source + WRAPPER_TAIL, { filename: bundle, cachedData });
}

function runBundle(script: Script, bundle: string): object {
  const module = { exports: {} };
  const wrapper = script.runInThisContext() as CommonJsWrapper;
  wrapper.call(module.exports, module.exports, createRequire(bundle), module, bundle, dirname(bundle));
  return module.exports;
}

/** What `require(bundle)` returns, compiled from the bundle's code cache where there is one V8 takes. */
export function requireCached(bundle: string): object {
  const { source, cachedData } = readBundle(bundle);
  return runBundle(compileBundle(bundle, source, cachedData), bundle);
}

/** Whether V8 would compile the bundle from its cache file (false without one). */
export function codeCacheAccepted(bundle: string): boolean {
  const { source, cachedData } = readBundle(bundle);
  return cachedData !== undefined && !compileBundle(bundle, source, cachedData).cachedDataRejected;
}

/**
 * Runs the bundle's top level, then writes its code cache (through a
 * temporary file: a VMM starting meanwhile reads the old cache or the new).
 */
export function writeCodeCache(bundle: string): void {
  if (!crc32) return;
  const bytes = readFileSync(bundle);
  const script = compileBundle(bundle, bytes.toString('utf8'));
  runBundle(script, bundle);
  const checksum = Buffer.alloc(CHECKSUM_BYTES);
  checksum.writeUInt32LE(crc32(bytes));
  const temporary = `${codeCachePath(bundle)}.${process.pid}`;
  writeFileSync(temporary, Buffer.concat([checksum, script.createCachedData()]));
  renameSync(temporary, codeCachePath(bundle));
}

// The code cache the bundles load through: a cache is used only for the very
// bytes it was made from, a bundle runs the same with or without one, and
// the caches the build wrote for the large bundles are ones V8 takes.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { codeCacheAccepted, codeCachePath, requireCached, writeCodeCache } from '../../src/util/code-cache.js';

const BUNDLE_DIR = fileURLToPath(new URL('../../bundle/', import.meta.url));

function bundleWith(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'tsvmm-code-cache-')), 'bundle.js');
  writeFileSync(path, text);
  return path;
}

const SOURCE = "'use strict';\nconst { join } = require('node:path');\n"
  + 'function answer() { return 42; }\nmodule.exports = { answer: answer(), where: join(__dirname, "x") };\n';

t.test('a bundle runs as CommonJS, with or without its cache', async (t) => {
  const bundle = bundleWith(SOURCE);
  const expected = { answer: 42, where: join(bundle, '..', 'x') };
  t.same(requireCached(bundle), expected, 'no cache file');
  t.notOk(codeCacheAccepted(bundle));
  writeCodeCache(bundle);
  t.ok(codeCacheAccepted(bundle), 'V8 takes the cache written for it');
  t.same(requireCached(bundle), expected, 'from the cache');
});

t.test('a cache is not used for a bundle changed since, even one of the same length', async (t) => {
  const bundle = bundleWith(SOURCE);
  writeCodeCache(bundle);
  writeFileSync(bundle, SOURCE.replace('return 42', 'return 24'));
  t.notOk(codeCacheAccepted(bundle));
  t.equal((requireCached(bundle) as { answer: number }).answer, 24, 'the new bundle runs');
});

t.test('a truncated or foreign cache file is ignored', async (t) => {
  const bundle = bundleWith(SOURCE);
  for (const junk of [Buffer.alloc(0), Buffer.alloc(3), Buffer.from('not a cache at all')]) {
    writeFileSync(codeCachePath(bundle), junk);
    t.notOk(codeCacheAccepted(bundle));
    t.equal((requireCached(bundle) as { answer: number }).answer, 42);
  }
});

t.test('the build wrote caches V8 takes for each large bundle', async (t) => {
  for (const name of ['tsvmm-main', 'control-loop', 'vcpu-worker', 'tsvmm-remote-main']) {
    const stub = readFileSync(join(BUNDLE_DIR, `${name}.js`), 'utf8');
    t.match(stub, `${name}.body.js`, `${name}.js runs its body`);
    // TypeScript's modules are strict; a directive after the banner's first statement would not be one.
    t.match(readFileSync(join(BUNDLE_DIR, `${name}.body.js`), 'utf8'), /^'use strict';\n/, `${name}.body.js is strict`);
    t.ok(codeCacheAccepted(join(BUNDLE_DIR, `${name}.body.js`)), `${name}.body.js's cache`);
  }
});

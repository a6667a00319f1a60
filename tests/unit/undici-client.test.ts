// scripts/undici-client.cjs, what the bundles take for `undici`: the same
// dispatchers as undici's index, with the request API on them, whichever
// version of undici is installed.
import { createRequire } from 'node:module';
import t from 'tap';

const require = createRequire(new URL('../../../scripts/', import.meta.url));

t.test('the client part of undici is the index\'s Client and Pool, with request()', async (t) => {
  const part = require('./undici-client.cjs') as { Client: { prototype: object }; Pool: { prototype: object } };
  for (const method of ['request', 'stream', 'pipeline', 'upgrade', 'connect']) {
    t.type((part.Client.prototype as Record<string, unknown>)[method], 'function', `Client has ${method}() before the index is loaded`);
  }
  const index = require('undici') as { Client: unknown; Pool: unknown };
  t.equal(part.Client, index.Client);
  t.equal(part.Pool, index.Pool);
});

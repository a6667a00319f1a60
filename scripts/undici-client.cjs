'use strict';
// What the bundles take for `undici`: the two dispatchers src/api/client.ts
// uses, with the request API undici's index puts on every dispatcher, and
// without the rest of the index (fetch, WebSocket, caches, cookies, mocks,
// proxies), whose loading cost each tsvmm-remote run about 8 MiB and a third
// of its module loading on this project's machine. tests/unit/undici-client.test.ts
// holds it to the index.
const Dispatcher = require('undici/lib/dispatcher/dispatcher.js');

Object.assign(Dispatcher.prototype, require('undici/lib/api/index.js'));

module.exports = {
  Client: require('undici/lib/dispatcher/client.js'),
  Pool: require('undici/lib/dispatcher/pool.js'),
};

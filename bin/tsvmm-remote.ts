#!/usr/bin/env node
// tsvmm-remote: ch-remote for tsvmm. A lone --version or --help is answered
// before the client's code loads (the bundle keeps it in a second file,
// tsvmm-remote-main.js, as tsvmm does): scripts call this once per request.
import { REMOTE_USAGE } from '../src/remote/usage.js';
import { VERSION } from '../src/version.js';

const argv = process.argv.slice(2);
const only = argv.length === 1 ? argv[0] : undefined;

if (only === '--version' || only === '-V') {
  process.stdout.write(`tsvmm-remote ${VERSION}\n`);
} else if (only === '--help' || only === '-h') {
  process.stdout.write(REMOTE_USAGE);
} else {
  void import('../src/remote/main.js').then(({ main }) => main(argv)).then((code) => process.exit(code));
}

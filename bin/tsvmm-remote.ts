#!/usr/bin/env node
// tsvmm-remote: ch-remote for tsvmm. A lone --version or --help is answered
// before the client's code loads (the bundle keeps it in a second file,
// tsvmm-remote-main.js, as tsvmm does): scripts call this once per request.
import { REMOTE_USAGE } from '../src/remote/usage.js';
import { answerLoneFlag } from '../src/util/lone-flag.js';
import { VERSION } from '../src/version.js';

const argv = process.argv.slice(2);

if (!answerLoneFlag(argv, `tsvmm-remote ${VERSION}\n`, REMOTE_USAGE)) {
  void import('../src/remote/main.js').then(({ main }) => main(argv)).then((code) => process.exit(code));
}

#!/usr/bin/env node
// tsvmm: boots the VM described on the command line and/or serves the API.
// A lone --version or --help is answered before the VMM's code loads (the
// bundle keeps it in a second file, tsvmm-main.js): start-up is the first
// cost of a VMM, and scripts call these often.
import { USAGE } from '../src/cli/usage.js';
import { answerLoneFlag } from '../src/util/lone-flag.js';
import { VERSION } from '../src/version.js';
import { startControlLoopWorker } from '../src/vmm/control-loop-worker.js';

const argv = process.argv.slice(2);

if (!answerLoneFlag(argv, `tsvmm ${VERSION}\n`, USAGE)) {
  // The control loop loads its modules on another thread while this one loads the VMM's.
  const controlLoop = startControlLoopWorker();
  // process.exit: stdin may still hold the event loop open once the VM is gone.
  void import('../src/cli/main.js').then(({ main, exitCodeFor, errorMessage }) => main(argv, controlLoop).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`tsvmm: ${errorMessage(error)}\n`);
      process.exit(exitCodeFor(error));
    },
  ));
}

#!/usr/bin/env node
// tsvmm: boots the VM described on the command line and/or serves the API.
import { parseCommandLine, USAGE } from '../src/cli/args.js';
import { EXIT_HOST, EXIT_OK, EXIT_USAGE, EXIT_VM_FAILED, runVmm } from '../src/cli/run.js';
import { ConfigError, HostError, PayloadError, errorMessage } from '../src/util/errors.js';
import { configureLog, levelFromVerbosity } from '../src/util/log.js';
import { VERSION } from '../src/version.js';

function exitCodeFor(error: unknown): number {
  if (error instanceof ConfigError || error instanceof PayloadError) return EXIT_USAGE;
  if (error instanceof HostError) return EXIT_HOST;
  return EXIT_VM_FAILED;
}

async function main(argv: string[]): Promise<number> {
  const request = parseCommandLine(argv);
  if (request.kind === 'help') {
    process.stdout.write(USAGE);
    return EXIT_OK;
  }
  if (request.kind === 'version') {
    process.stdout.write(`tsvmm ${VERSION}\n`);
    return EXIT_OK;
  }
  configureLog({ level: levelFromVerbosity(request.verbosity), fd: 2 });
  return runVmm(request);
}

// process.exit: stdin may still hold the event loop open once the VM is gone.
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`tsvmm: ${errorMessage(error)}\n`);
    process.exit(exitCodeFor(error));
  },
);

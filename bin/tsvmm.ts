#!/usr/bin/env node
// tsvmm: boots the VM described on the command line and/or serves the API.
import { parseCommandLine, USAGE } from '../src/cli/args.js';
import { EXIT_OK, EXIT_VM_FAILED, exitCodeForStatus, runVmm } from '../src/cli/run.js';
import { openSync } from 'node:fs';
import { ConfigError, VmmError, errnoOf, errorMessage } from '../src/util/errors.js';
import { configureLog, levelFromVerbosity } from '../src/util/log.js';
import { VERSION } from '../src/version.js';

/** The same rule as for error replies: 4xx is the user's input, 5xx the host's. */
function exitCodeFor(error: unknown): number {
  return error instanceof VmmError ? exitCodeForStatus(error.status) : EXIT_VM_FAILED;
}

function openLogFile(path: string): number {
  try {
    return openSync(path, 'a', 0o600);
  } catch (error) {
    throw new ConfigError(`--log-file: cannot open ${path}: ${errnoOf(error)}`, { code: 'HostFileRejected', cause: error });
  }
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
  configureLog({ level: levelFromVerbosity(request.verbosity), fd: request.logFile ? openLogFile(request.logFile) : 2 });
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

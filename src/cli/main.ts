// What `tsvmm` does with a command line other than a lone --version or
// --help (which bin/tsvmm.ts answers without loading this): parse it,
// set up logging, run the VMM; resolves with the exit status.
import { openSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { ConfigError, VmmError, errnoOf } from '../util/errors.js';

export { errorMessage } from '../util/errors.js';
import { configureLog, levelFromVerbosity, logStartupClock, logStartupStep } from '../util/log.js';
import { VERSION } from '../version.js';
import { parseCommandLine } from './args.js';
import { EXIT_OK, EXIT_VM_FAILED, exitCodeForStatus, runVmm } from './run.js';
import { USAGE } from './usage.js';

/** When this bundle's modules had all been evaluated. */
const modulesLoadedAt = process.uptime();

/** The same rule as for error replies: 4xx is the user's input, 5xx the host's. */
export function exitCodeFor(error: unknown): number {
  return error instanceof VmmError ? exitCodeForStatus(error.status) : EXIT_VM_FAILED;
}

function openLogFile(path: string): number {
  try {
    return openSync(path, 'a', 0o600);
  } catch (error) {
    throw new ConfigError(`--log-file: cannot open ${path}: ${errnoOf(error)}`, { code: 'HostFileRejected', cause: error });
  }
}

/** `controlLoop`: the control loop's worker, when the caller started it early. */
export async function main(argv: string[], controlLoop?: Worker): Promise<number> {
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
  logStartupClock();
  logStartupStep('the VMM\'s modules loaded', modulesLoadedAt);
  logStartupStep('command line parsed');
  return runVmm(request, controlLoop);
}
